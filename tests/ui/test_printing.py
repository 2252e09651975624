"""Ctrl+P prints what is on screen: read the PDF back and find the rows."""

import pytest
from helpers import TODAY, make_subject
from pdfs import text_of
from PySide6.QtPrintSupport import QPrinter

from coordinator.ui import printing


@pytest.fixture
def to_pdf(monkeypatch, tmp_path):
    """The print dialog answers 'save as PDF' into the test folder."""
    target = tmp_path / "printed.pdf"

    def choose(_parent, printer):
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(target))
        return True
    monkeypatch.setattr(printing, "choose_printer", choose)
    return target


def test_print_the_days_due_list(window, session, to_pdf, qtbot):
    session.service.add_subject(make_subject("101-050", c1d1=TODAY))
    window.due_view.refresh()
    qtbot.waitUntil(lambda: not window.due_view.loading)
    window.show_view("today")
    window._on_print_triggered()
    text = text_of(to_pdf)
    assert "Due list" in text and "Thu 15-Jan-2026" in text
    assert "101-050" in text and "C1D8" in text
    last = session.service.audit()[-1]
    assert (last.action, last.new, last.subject_id) == ("print", "due list of 2026-01-15", None)  # who printed what, when


def test_print_a_visit_checklist(window, session, to_pdf):
    session.service.add_subject(make_subject("101-050", sex="M", c1d1=TODAY))
    window.open_subject("101-050", "C1D8")
    window._on_print_triggered()
    text = text_of(to_pdf)
    assert "101-050" in text and "C1D8" in text
    assert "Hematology" in text
    assert "not applicable" in text  # a man's pregnancy test
    last = session.service.audit()[-1]
    assert (last.action, last.new, last.subject_id) == ("print", "checklist C1D8", "101-050")
