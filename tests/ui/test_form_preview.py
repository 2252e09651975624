"""Forms from the window: preview, save, print (to a PDF file here), each print in the audit trail."""

import datetime as dt
import threading

import pytest
from PySide6.QtPrintSupport import QPrinter

from coordinator.ui import ask, form_preview, printing
from coordinator.ui.form_preview import FormPreviewDialog, page_count, page_images
from coordinator.ui.packet_job import PacketJob
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


def due_today(service) -> int:
    """Three visits due today (two requisitions and a cycle 2 day 1 with its dosing form)."""
    for sid, days in (("101-050", 7), ("101-051", 28)):
        service.add_subject(make_subject(sid, c1d1=TODAY - dt.timedelta(days=days)))
        service.record_visit(sid, "SCR", TODAY - dt.timedelta(days=days + 3))
    return len(service.day_packet(TODAY))


def test_the_days_packet_with_progress(window, session, shown, qtbot, monkeypatch):
    visits = due_today(session.service)
    drawn_on = []  # which thread draws the preview's pages: a long packet must not freeze the window
    draw = form_preview.page_images
    monkeypatch.setattr(form_preview, "page_images",
                        lambda *args, **kwargs: drawn_on.append(threading.current_thread()) or draw(*args, **kwargs))
    job = window.due_view.print_day()
    reported = job.state  # the worker's counter, which the progress dialog reads
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert reported == {"done": visits + 1, "total": visits + 1}  # each visit, then the pages laid out
    assert shown[-1].what == f"day packet {TODAY.isoformat()} ({visits} visits)"
    assert len(shown[-1].pages) == page_count(shown[-1].pdf) == shown[-1].page_count > visits
    assert drawn_on and threading.main_thread() not in drawn_on


def test_the_packet_progress_dialog_shows_what_the_worker_reported(window, session):
    job = PacketJob(session, TODAY, window.due_view)
    job.state.update(done=2, total=5)
    job.timer.timeout.emit()
    assert (job.progress.minimum(), job.progress.maximum(), job.progress.value()) == (0, 5, 2)
    assert job.progress.labelText() == "Laying out visit 2 of 5…"
    job.progress.close()


def test_page_images_render_every_page_or_the_first_few(session):
    due_today(session.service)
    pdf = session.service.day_packet_pdf(TODAY)
    pages = page_count(pdf)
    images = page_images(pdf, 50)
    assert len(images) == pages > 1
    assert all(a != b for a, b in zip(images, images[1:]))  # each page drawn, not the first again
    assert page_images(pdf, 50, limit=2) == images[:2]


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
