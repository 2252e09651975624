"""Sending a finished PDF to a printer through CUPS (Linux, macOS): the vector PDF goes to the
printer as it is, so barcodes stay sharp. No Qt here; the GUI's print dialog chooses the
printer and the copies, then calls ``send``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from coordinator.errors import CoordinatorError

LP_TIMEOUT_S = 60


def available() -> bool:
    """Whether CUPS's ``lp`` command is here to take the job."""
    return shutil.which("lp") is not None


def send(pdf: bytes, printer: str, copies: int = 1, title: str = "coordinator form") -> str:
    """Queue ``pdf`` on ``printer``; returns CUPS's job id line. A refused job is a clear error."""
    if not available():
        raise CoordinatorError("Printing needs CUPS's 'lp' command, which is not installed here. "
                               "Save the form as PDF and print it from another program.")
    with tempfile.TemporaryDirectory(prefix="coordinator-print-") as folder:
        path = Path(folder) / "form.pdf"
        path.write_bytes(pdf)
        command = ["lp", "-d", printer, "-n", str(max(1, copies)), "-t", title, str(path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=LP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CoordinatorError(f"The printer {printer} did not answer within {LP_TIMEOUT_S} s; nothing was printed.") from None
    if done.returncode != 0:
        why = " ".join((done.stderr or done.stdout).split()) or f"lp exited with {done.returncode}"
        raise CoordinatorError(f"The printer {printer} refused the job: {why}")
    return done.stdout.strip()
