"""Forms from the window: preview, save, print (to a PDF file here), each print in the audit trail."""

import datetime as dt

import pytest
from PySide6.QtPrintSupport import QPrinter

from coordinator.ui import ask, printing
from coordinator.ui.form_preview import FormPreviewDialog, page_images
from helpers import TODAY, make_subject


@pytest.fixture
def shown(monkeypatch):
    """Previews are recorded instead of shown modally."""
    opened = []
    monkeypatch.setattr(FormPreviewDialog, "exec", lambda self: opened.append(self) or 0)
    return opened


def test_requisition_preview_save_and_print(window, session, shown, monkeypatch, tmp_path):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    window.open_subject("101-050", "C1D8")
    window.subject_view.requisition_action.trigger()
    dialog = shown[-1]
    assert len(dialog.pages) == 1 and dialog.pages[0].width() > 500
    assert "101-050" not in dialog.windowTitle()
    monkeypatch.setattr(ask, "save_file", lambda _parent, _title, suggested, _filters: str(tmp_path / suggested))
    assert dialog.save_form()
    saved = tmp_path / "requisition-101-050-C1D8.pdf"
    assert saved.read_bytes() == dialog.pdf

    def to_file(_parent, printer):
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(tmp_path / "printed.pdf"))
        return True
    monkeypatch.setattr(printing, "choose_printer", to_file)
    assert dialog.print_form()
    assert (tmp_path / "printed.pdf").read_bytes() == dialog.pdf
    prints = [r.new for r in service.audit("101-050") if r.action == "print"]
    assert prints == ["requisition C1D8 saved as requisition-101-050-C1D8.pdf", "requisition C1D8 printed on file printed.pdf"]


def test_dosing_form_of_the_selected_cycle(window, session, shown):
    session.service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=30)))
    window.open_subject("101-050", "C2D1")
    window.subject_view.dosing_action.trigger()
    assert shown[-1].what == "dosing form cycle 2" and len(shown[-1].pages) == 1


def test_a_form_that_cannot_be_made_says_why(window, session, shown, answers):
    session.service.add_subject(make_subject("101-050"))  # not enrolled: no cycle to dose
    window.open_subject("101-050", "SCR")
    window.subject_view.dosing_action.trigger()
    assert not shown and "cannot be made" in answers.errors[-1]


def test_the_days_packet_with_progress(window, session, shown, qtbot):
    session.service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    session.service.record_visit("101-050", "SCR", TODAY - dt.timedelta(days=10))
    window.due_view.print_day()
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert shown[-1].what == f"day packet {TODAY.isoformat()} (1 visit)"
    assert len(shown[-1].pages) == 1


def test_page_images_render_every_page(session):
    pdf = session.service.day_packet_pdf(TODAY)
    assert len(page_images(pdf, 50)) == 1


def test_dashboard_rows_offer_their_forms(window, session, shown, qtbot):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=28)))
    service.record_visit("101-050", "SCR", TODAY - dt.timedelta(days=30))
    window.due_view.refresh()
    qtbot.waitUntil(lambda: not window.due_view.loading)
    row = next(r for r in window.due_view.rows() if r.visit == "C2D1")
    menu = window.due_view.row_menu(row)
    actions = {a.text(): a for a in menu.actions()}
    assert set(actions) == {"Open", "Lab requisition…", "Dosing form, cycle 2…"}
    actions["Lab requisition…"].trigger()
    actions["Dosing form, cycle 2…"].trigger()
    assert [d.what for d in shown] == ["requisition C2D1", "dosing form cycle 2"]
