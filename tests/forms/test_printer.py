"""Printing through CUPS: a requisition sent to cups-pdf's virtual printer ("PDF") comes out as a
PDF that reads back with the subject, the visit and the tests; lp missing, or a printer that does
not exist, gives a plain error.

The CUPS test skips where there is no scheduler or no cups-pdf queue named PDF (a developer's
machine without CUPS); `.ci/run` installs and starts both, and then sets COORDINATOR_TEST_CUPS to
"required": the test fails instead of skipping when it still cannot print.
"""

import os
import pwd
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from helpers import d, make_subject
from pdfs import pages_of, text_of

from coordinator.errors import CoordinatorError
from coordinator.forms import printer
from coordinator.forms.requisition import ordered, requisition_pdf
from coordinator.schedule import build_plan

QUEUE = "PDF"  # the queue Debian's cups-pdf package (and .ci/run) creates
CONF = Path("/etc/cups/cups-pdf.conf")
WAIT_S = 30


def lpstat(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["lpstat", *args], capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"})


def cups_pdf_queue() -> str | None:
    """Why the cups-pdf test cannot run here, or None when it can."""
    if shutil.which("lpstat") is None or not printer.available():
        return "CUPS's client (lp, lpstat) is not installed"
    scheduler = lpstat("-r")
    if scheduler.stdout.strip() != "scheduler is running":
        return f"the CUPS scheduler is not running (lpstat -r: {scheduler.stdout.strip() or scheduler.stderr.strip()})"
    state = lpstat("-p", QUEUE)
    if state.returncode != 0:
        why = " ".join((state.stderr or state.stdout).split())
        return f"no CUPS queue named {QUEUE} (lpstat -p {QUEUE}: {why or 'failed'}); .ci/run sets one up"
    if "disabled" in state.stdout:
        return f"the CUPS queue {QUEUE} is disabled (cupsenable {QUEUE})"
    device = lpstat("-v", QUEUE).stdout
    if "cups-pdf:" not in device:
        return f"the CUPS queue {QUEUE} is not a cups-pdf printer ({device.strip()})"
    return None


def output_folders() -> list[Path]:
    """Where cups-pdf writes a job of this user: its 'Out' folder (Debian: ~/PDF), else the
    anonymous spool (cups-pdf.conf, with cups-pdf's own defaults)."""
    user = pwd.getpwuid(os.getuid())
    settings = {"Out": "/var/spool/cups-pdf/${USER}", "AnonDirName": "/var/spool/cups-pdf/ANONYMOUS"}
    if CONF.exists():
        for line in CONF.read_text(errors="replace").splitlines():
            match = re.match(r"\s*(Out|AnonDirName)\s+(\S.*?)\s*$", line)
            if match:
                settings[match[1]] = match[2]
    return [Path(settings[key].replace("${HOME}", user.pw_dir).replace("${USER}", user.pw_name))
            for key in ("Out", "AnonDirName")]


def job_pending(job: str) -> bool:
    listed = lpstat("-W", "not-completed", "-o", QUEUE)
    return any(line.split()[:1] == [job] for line in listed.stdout.splitlines())


def visit(protocol, subject, code):
    return next(v for v in build_plan(protocol, subject) if v.code == code)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_a_requisition_printed_on_cups_pdf_reads_back(protocol, tmp_path):
    why = cups_pdf_queue()
    if why and os.environ.get("COORDINATOR_TEST_CUPS") == "required":
        pytest.fail(f"CI set up the cups-pdf printer, yet {why}")
    if why:
        pytest.skip(why)
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    scr = visit(protocol, subject, "SCR")
    pdf = requisition_pdf(protocol, subject, scr, d("2025-02-20"), "Synthetic Hospital")
    original = tmp_path / "sent.pdf"
    original.write_bytes(pdf)
    token = f"coordinator-test-{uuid.uuid4().hex[:10]}"  # cups-pdf names the file after the job's title

    answer = printer.send(pdf, QUEUE, title=f"{token} 101-001 SCR")
    job = re.search(rf"\b{QUEUE}-\d+\b", answer)
    assert job, answer  # 'request id is PDF-7 (1 file(s))'
    folders = output_folders()
    deadline, found = time.monotonic() + WAIT_S, []
    while time.monotonic() < deadline:
        found = [p for folder in folders if folder.is_dir() for p in folder.glob(f"*{token}*.pdf")]
        if found and not job_pending(job[0]):  # the job is done once cups-pdf's Ghostscript has finished the file
            break
        time.sleep(0.3)
    else:
        state = lpstat("-l", "-p", QUEUE, "-o", QUEUE).stdout
        subprocess.run(["cancel", job[0]], capture_output=True)
        pytest.fail(f"no {token}*.pdf in {', '.join(map(str, folders))} within {WAIT_S} s of {answer!r}; CUPS says:\n{state}")
    try:
        assert len(found) == 1, found
        text = " ".join(text_of(found[0]).split())
        assert "LAB REQUISITION" in text and "Synthetic Hospital" in text
        assert "Subject 101-001" in text and "Visit SCR" in text and "Screening" in text
        assert "Hematology: CBC with differential and platelets" in text and "Serum pregnancy test" in text
        for tests in ordered(protocol, subject, scr).values():
            for procedure, _ in tests:
                assert " ".join(procedure.label.split()) in text, procedure.id
        assert "101-001-SCR-20250220" in text  # the accession id under the barcode
        assert pages_of(found[0]) == pages_of(original) == 2  # local laboratory, research samples
    finally:
        for path in found:
            path.unlink(missing_ok=True)


def test_without_lp_printing_is_a_plain_error(monkeypatch):
    monkeypatch.setattr(printer.shutil, "which", lambda name: None)
    assert not printer.available()
    with pytest.raises(CoordinatorError, match="needs CUPS's 'lp' command, which is not installed") as error:
        printer.send(b"%PDF-1.4", QUEUE)
    assert "Save the form as PDF" in str(error.value)


@pytest.mark.skipif(shutil.which("lp") is None, reason="CUPS's lp is not installed")
def test_a_printer_that_does_not_exist_is_named_in_the_error():
    with pytest.raises(CoordinatorError, match=r"^The printer no-such-printer-7f3 refused the job: lp: \S") as error:
        printer.send(b"%PDF-1.4\n%%EOF\n", "no-such-printer-7f3")
    assert "\n" not in str(error.value)  # one plain line, lp's own words after the name
