"""The day's packet: every due visit's requisition and each day 1's dosing form, in dashboard order."""

import shutil
import subprocess

import pytest
from helpers import d, make_subject

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def pages(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "packet.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def test_packet_pages_in_dashboard_order(service, tmp_path):
    service.add_subject(make_subject("101-001", c1d1=d("2025-03-03"), visits={}))
    service.add_subject(make_subject("101-002", sex="M", c1d1=d("2025-03-24")))
    service.record_visit("101-001", "SCR", d("2025-02-20"))
    service.record_visit("101-002", "SCR", d("2025-03-12"))
    service.record_visit("101-001", "C1D8", d("2025-03-10"))
    service.record_visit("101-001", "C1D15", d("2025-03-17"))
    service.record_visit("101-001", "C1D22", d("2025-03-24"))
    on = d("2025-03-31")
    # dashboard order: the window that closes first comes first (C1D8 +-1 day, C2D1 +-3 days)
    assert service.day_packet(on) == [("101-002", "C1D8"), ("101-001", "C2D1")]
    seen = []
    packet = pages(service.day_packet_pdf(on, progress=lambda done, total: seen.append((done, total))), tmp_path)
    assert seen == [(1, 2), (2, 2)]
    kinds = [("DOSING CALENDAR" if "DOSING CALENDAR" in p else "REQUISITION", next(s for s in ("101-001", "101-002") if s in p))
             for p in packet]
    # 101-002 C1D8: its requisition only (not a day 1); then 101-001 C2D1: its requisition
    # (local laboratory; no research sample at C2D1) and its cycle 2 dosing form
    assert kinds == [("REQUISITION", "101-002"), ("REQUISITION", "101-001"), ("DOSING CALENDAR", "101-001")]
    assert "C1D8" in packet[0] and "C2D1" in packet[1] and "Cycle 2" in packet[2]


def test_an_empty_day_says_so(service, tmp_path):
    assert service.day_packet(d("2025-03-31")) == []
    assert "Nothing is due" in pages(service.day_packet_pdf(d("2025-03-31")), tmp_path)[0]
