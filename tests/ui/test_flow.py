"""A coordinator's day in the window: add, enroll, look ahead, tick off, see the dashboard follow."""

import datetime as dt
import json

from PySide6.QtCore import Qt

from coordinator.ui.action_dialogs import EndTreatmentDialog, EnrollDialog, MissedVisitDialog
from coordinator.ui.main_window import MainWindow
from coordinator.ui.subject_dialog import SubjectDialog
from helpers import TODAY, calls_to, make_subject


def fill_subject(dialog, sid="101-050", initials="XYZ", sex="F", cbp=True):
    dialog.field("id").setText(sid)
    dialog.field("initials").setText(initials)
    dialog.field("sex").setCurrentIndex(dialog.field("sex").findData(sex))
    dialog.field("birth_date").set_value(dt.date(1961, 5, 14))
    dialog.field("consent_date").set_value(TODAY - dt.timedelta(days=10))
    dialog.field("childbearing_potential").setCurrentIndex(dialog.field("childbearing_potential").findData(cbp))


def due_for(window, day):
    window.session.set_day(day)
    window.due_view.refresh()
    return wait_rows(window)


def wait_rows(window):
    from pytestqt.qtbot import QtBot
    QtBot(window).waitUntil(lambda: not window.due_view.loading)
    return window.due_view.rows()


def test_a_whole_visit_from_the_window(window, qtbot, session, answers):
    service = session.service
    # add a subject
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error_text("id") or dialog.error_text()
    assert service.subject("101-050").initials == "XYZ"
    # enroll them: cycle 1 day 1 today
    enroll = EnrollDialog(session, service.subject("101-050"), window)
    enroll.field("c1d1").set_value(TODAY)
    enroll.accept()
    assert service.subject("101-050").c1d1 == TODAY
    # one week on, C1D8 is due
    rows = due_for(window, TODAY + dt.timedelta(days=7))
    c1d8 = next(r for r in rows if (r.subject, r.visit) == ("101-050", "C1D8"))
    assert c1d8.section == "due" and c1d8.target == TODAY + dt.timedelta(days=7) and c1d8.initials == "XYZ"
    assert c1d8.done == 0 and c1d8.total > 0
    # open it from the dashboard, as Enter would
    window.due_view.open_visit.emit("101-050", "C1D8")
    view = window.subject_view
    assert window.stack.currentWidget() is view
    assert view.checklist.visit.visit.code == "C1D8"
    # tick the first three items done
    for _ in range(3):
        view.checklist.tick_selected("done")
    items = service.checklist("101-050", "C1D8").items
    assert [i.status for i in items[:3]] == ["done"] * 3
    assert "3 of" in view.checklist.progress.text()
    # the dashboard follows, read again when it is shown (not while it is hidden)
    assert not window.due_view.loading
    window.show_view("today")
    rows = wait_rows(window)
    c1d8 = next(r for r in rows if (r.subject, r.visit) == ("101-050", "C1D8"))
    assert c1d8.done == 3
    window.show_view("subject")
    # looking ahead does not move the clock: the visit date offered is today's, which is refused
    # for C1D8 (it is cycle 1 day 1's day) with a plain message, and nothing is saved
    assert view.checklist.date_edit.value() == TODAY
    view.checklist.record_visit()
    assert "is not after cycle 1 day 1" in answers.errors.pop()
    assert "C1D8" not in service.subject("101-050").visits
    # a week later for real: record the visit, and it leaves the due list
    session.check_clock(TODAY + dt.timedelta(days=7))
    assert view.checklist.date_edit.value() == TODAY + dt.timedelta(days=7)
    view.checklist.record_visit()
    assert not answers.errors
    window.show_view("today")
    rows = wait_rows(window)
    assert ("101-050", "C1D8") not in {(r.subject, r.visit) for r in rows}
    # and the audit trail holds who did it
    actions = [row.action for row in service.audit("101-050")]
    assert {"add_subject", "enroll", "tick", "record_visit"} <= set(actions)


def test_field_errors_show_under_their_field_and_nothing_is_saved(window, session):
    session.service.add_subject(make_subject("101-050"))
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog, sid="101-050")
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "already exists" in dialog.error_text("id")
    fill_subject(dialog, sid="101-051", initials="abc")
    dialog.accept()
    assert "capital letters" in dialog.error_text("initials")
    assert dialog.error_text("id") == ""
    fill_subject(dialog, sid="101-051")
    dialog.field("birth_date").set_value(TODAY)  # born after consent
    dialog.accept()
    assert "before the consent date" in dialog.error_text("birth_date")
    assert session.service.store.subject_ids() == ["101-050"]


def test_a_man_cannot_be_of_child_bearing_potential(window, session):
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog, sex="M", cbp=True)
    assert not dialog.field("childbearing_potential").isEnabled()
    dialog.accept()
    assert session.service.subject("101-050").childbearing_potential is False


def test_the_23rd_enrollment_is_refused_with_the_reason(window, session):
    service = session.service
    for n in range(22):
        service.add_subject(make_subject(f"101-{n:03d}", c1d1=dt.date(2025, 3, 3)))
    service.add_subject(make_subject("101-900"))
    dialog = EnrollDialog(session, service.subject("101-900"), window)
    assert "22 of 22 places are taken" in dialog.intro.text()
    dialog.field("c1d1").set_value(TODAY)
    dialog.accept()
    assert "enrollment is full" in dialog.error_text("c1d1")
    assert service.subject("101-900").c1d1 is None


def test_a_correction_asks_for_its_reason(window, session, answers):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=dt.date(2025, 3, 3)))
    dialog = EndTreatmentDialog(session, service.subject("101-050"), window)
    dialog.field("last_dose").set_value(dt.date(2025, 6, 1))
    dialog.accept()
    assert "choose why" in dialog.error_text("end_of_treatment_reason")  # no reason is chosen for the user
    assert service.subject("101-050").last_dose is None
    reasons = dialog.field("end_of_treatment_reason")
    reasons.setCurrentIndex(reasons.findData("toxicity"))
    dialog.accept()
    assert service.subject("101-050").last_dose == dt.date(2025, 6, 1)
    dialog = EndTreatmentDialog(session, service.subject("101-050"), window)
    dialog.field("last_dose").set_value(dt.date(2025, 6, 2))
    dialog.accept()
    assert "needs a reason" in dialog.error_text("_reason")
    assert service.subject("101-050").last_dose == dt.date(2025, 6, 1)
    dialog.reason_edit.setText("typo: the diary says 2 June")
    dialog.accept()
    assert service.subject("101-050").last_dose == dt.date(2025, 6, 2)
    assert any(r.reason == "typo: the diary says 2 June" for r in service.audit("101-050"))
    # the subject's History tab shows it, read when the tab is opened
    window.open_subject("101-050")
    view = window.subject_view
    assert view.history_model.rowCount() == 0
    view.tabs.setCurrentWidget(view.history)
    assert view.history_model.rows()[0].reason == "typo: the diary says 2 June"


def test_a_changed_tick_asks_for_a_reason_and_cancel_keeps_it(window, session, answers):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY))
    window.open_subject("101-050", "C1D1")
    checklist = window.subject_view.checklist
    checklist.table.selectRow(0)
    checklist.tick_selected("done")
    checklist.table.selectRow(0)
    answers.texts = ["patient declined", None]  # why not done; then cancel the reason
    checklist.tick_selected("not_done")
    assert "needs a reason" in answers.questions[-1]  # the correction asked why
    first = service.checklist("101-050", "C1D1").items[0]
    assert first.status == "done"
    assert checklist.table.currentIndex().row() == 0  # a cancelled change leaves the selection where it was


def test_missed_visit_needs_a_reason(window, session):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=dt.date(2025, 3, 3)))
    dialog = MissedVisitDialog(session, service.subject("101-050"), "C1D8", window)
    dialog.accept()
    assert "needs its reason" in dialog.error_text("visits")
    dialog.field("visits").setText("hospitalised")
    dialog.accept()
    assert service.subject("101-050").visits["C1D8"].missed


def test_find_a_subject_in_two_keystrokes(window, session, qtbot):
    for n in (1, 2, 13):
        session.service.add_subject(make_subject(f"101-{n:03d}"))
    window._on_find_triggered()
    qtbot.waitUntil(lambda: not window.subjects_view.loading and window.subjects_view.model.rowCount() == 3)
    qtbot.keyClicks(window.subjects_view.search, "13")
    qtbot.keyClick(window.subjects_view.search, Qt.Key.Key_Return)
    assert window.subject_view.subject_id == "101-013"
    assert window.stack.currentWidget() is window.subject_view


def test_the_dashboard_follows_midnight(window, session):
    assert window.due_view.title.text().startswith("<h2>Today")
    session.check_clock(TODAY + dt.timedelta(days=1))
    wait_rows(window)
    assert session.day == TODAY + dt.timedelta(days=1)
    assert "16-Jan-2026" in window.due_view.title.text()


def test_the_last_view_is_remembered(session, qtbot):
    from coordinator.ui.main_window import MainWindow
    session.service.add_subject(make_subject("101-050"))
    first = MainWindow(session)
    qtbot.addWidget(first)
    first.open_subject("101-050")
    first.close()
    from coordinator.service import Service
    from coordinator.ui.session import Session
    again = Session(Service.open(session.path, today=TODAY), session.path)
    second = MainWindow(again)
    qtbot.addWidget(second)
    assert second.stack.currentWidget() is second.subject_view
    assert second.subject_view.subject_id == "101-050"
    second.close()


def test_the_window_title_names_no_subject(window, session):
    session.service.add_subject(make_subject("101-050"))
    window.open_subject("101-050")
    assert "101-050" not in window.windowTitle() and "ABC" not in window.windowTitle()


def open_checklist(window, qtbot, subject, visit):
    window.open_subject(subject, visit)
    checklist = window.subject_view.checklist
    checklist.table.setFocus()
    checklist.table.selectRow(0)
    return checklist


def test_keys_tick_clear_and_open(window, session, qtbot, answers):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    window.due_view.refresh()
    qtbot.waitUntil(lambda: not window.due_view.loading)
    # Enter on the dashboard's row opens the subject at that visit
    table = window.due_view.table
    row = next(i for i, r in enumerate(window.due_view.rows()) if r.visit == "C1D8")
    table.setFocus()
    table.setCurrentIndex(window.due_view.proxy.index(row, 0))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.subject_view
    checklist = window.subject_view.checklist
    assert checklist.visit.visit.code == "C1D8"
    checklist.table.setFocus()
    checklist.table.selectRow(0)
    first = checklist.model.rows()[0]
    qtbot.keyClick(checklist.table, Qt.Key.Key_Space)
    assert service.checklist("101-050", "C1D8").items[0].status == "done"
    assert checklist.table.currentIndex().row() == 1  # on to the next item
    qtbot.keyClick(checklist.table, Qt.Key.Key_A)
    assert service.checklist("101-050", "C1D8").items[1].status == "not_applicable"
    # Delete takes the first tick back, asking why
    checklist.table.selectRow(0)
    answers.texts = ["ticked the wrong line"]
    qtbot.keyClick(checklist.table, Qt.Key.Key_Delete)
    item = next(i for i in service.checklist("101-050", "C1D8").items if i.id == first.id)
    assert item.status == "pending"
    assert service.audit("101-050")[-1].reason == "ticked the wrong line"


def test_subject_shortcuts_act_only_on_the_subject_screen(window, session, qtbot):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    window.open_subject("101-050", "C1D8")
    assert window.subject_view.record_action.isEnabled()
    window.show_view("today")
    assert not window.subject_view.record_action.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert "C1D8" not in service.subject("101-050").visits


def test_typed_notes_survive_a_tick(window, session, qtbot):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    checklist = open_checklist(window, qtbot, "101-050", "C1D8")
    checklist.notes.setText("came in late, fasting")
    checklist.date_edit.set_value(TODAY - dt.timedelta(days=1))
    qtbot.keyClick(checklist.table, Qt.Key.Key_Space)
    assert checklist.notes.text() == "came in late, fasting"
    assert checklist.date_edit.value() == TODAY - dt.timedelta(days=1)
    checklist.record_visit()
    record = service.subject("101-050").visits["C1D8"]
    assert (record.date, record.notes) == (TODAY - dt.timedelta(days=1), "came in late, fasting")


def test_the_visit_date_offered_is_today_whatever_day_is_looked_at(window, session, qtbot):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=20)))
    session.set_day(TODAY - dt.timedelta(days=3))
    checklist = open_checklist(window, qtbot, "101-050", "C1D15")
    assert checklist.date_edit.value() == TODAY


def test_a_screening_subject_has_the_first_dose_checklist(window, session, qtbot):
    service = session.service
    service.add_subject(make_subject("101-050", consent=str(TODAY - dt.timedelta(days=5)),
                                     planned_c1d1=TODAY + dt.timedelta(days=4)))
    window.open_subject("101-050")
    codes = [r.code for r in window.subject_view.visit_model.rows()]
    assert codes == ["SCR", "C1D1"]
    window.subject_view.select_visit("C1D1")
    checklist = window.subject_view.checklist
    assert checklist.model.rowCount() > 0 and checklist.record_button.text() == "Record first dose"
    assert not checklist.notes.isEnabled()
    checklist.table.setFocus()
    checklist.table.selectRow(0)
    qtbot.keyClick(checklist.table, Qt.Key.Key_Space)
    assert service.checklist("101-050", "C1D1").items[0].status == "done"


def test_dose_dialog_starts_at_the_current_level(window, session):
    from coordinator.ui.action_dialogs import DoseDialog
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=dt.date(2025, 3, 3)))
    service.change_dose("101-050", "selinexor", -1, 3)
    dialog = DoseDialog(session, service.subject("101-050"), window)
    dialog.field("dose_changes.from_cycle").setValue(4)
    assert dialog.values()["dose_changes.level"] == -1
    dialog.accept()  # Save without a change re-escalates nothing
    assert service.subject("101-050").dose_level("selinexor", 4) == -1


def test_child_bearing_potential_comes_back_when_sex_goes_back(window, session):
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog, sex="F", cbp=True)
    dialog.field("sex").setCurrentIndex(dialog.field("sex").findData("M"))
    dialog.field("sex").setCurrentIndex(dialog.field("sex").findData("F"))
    assert dialog.values()["childbearing_potential"] is True


def test_dialog_titles_name_no_subject(window, session):
    from coordinator.ui.action_dialogs import EnrollDialog as Enroll
    session.service.add_subject(make_subject("101-050"))
    for dialog in (Enroll(session, session.service.subject("101-050"), window),
                   SubjectDialog(session, session.service.subject("101-050"), window)):
        assert "101-050" not in dialog.windowTitle() and "101-050" in dialog.intro.text()


def test_messages_show_dates_as_the_coordinator_reads_them(window, session):
    from coordinator.ui.words import readable
    assert readable("2025-03-03 is not after 2025-02-30 (2026-01-15)") == "03-Mar-2025 is not after 2025-02-30 (15-Jan-2026)"
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog)
    dialog.field("birth_date").set_value(TODAY)
    dialog.accept()
    assert "15-Jan-2026 is not before the consent date 05-Jan-2026" in dialog.error_text("birth_date")


def test_the_timeline_zoom_is_remembered(window, session, qtbot):
    from coordinator.ui.main_window import MainWindow
    session.service.add_subject(make_subject("101-050", c1d1=TODAY))
    window.open_subject("101-050")
    timeline = window.subject_view.timeline
    timeline.setFocus()
    qtbot.keyClick(timeline, Qt.Key.Key_Plus)
    zoomed = timeline.zoom
    assert zoomed > 6.0
    again = MainWindow(session)
    qtbot.addWidget(again)
    again.open_subject("101-050")
    assert again.subject_view.timeline.zoom == zoomed


def test_the_history_tab_stays_shown_through_a_tick_a_day_change_and_midnight(window, session, monkeypatch):
    view = open_a_week_in(window, "C1D8")
    assert view.tabs.currentWidget() is view.checklist  # a visit picked on opening shows its checklist
    view.tabs.setCurrentWidget(view.history)
    first = view.checklist.model.rows()[0]
    view.checklist.table.selectRow(0)
    view.checklist.tick_selected("done")  # as another window of the app would
    assert view.tabs.currentWidget() is view.history
    newest = view.history_model.rows()[0]  # read again, as it is shown
    assert newest.field == f"procedures.C1D8.{first.id}" and json.loads(newest.new)["status"] == "done"
    session.set_day(TODAY + dt.timedelta(days=1))
    assert view.tabs.currentWidget() is view.history
    session.check_clock(TODAY + dt.timedelta(days=1))
    assert view.tabs.currentWidget() is view.history
    view.timeline.visit_clicked.emit("C1D1")  # the user picks a visit: its checklist
    assert view.tabs.currentWidget() is view.checklist and view.checklist.visit.visit.code == "C1D1"


def readers(calls) -> list[str]:
    """The screens that asked for each of these ``run_in_background`` calls (``calls_to``)."""
    return [type(call[1]).__name__ for call in calls]


def open_a_week_in(window, visit: str):
    """101-050, a week into cycle 1, open at ``visit``: the subject screen."""
    window.service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    window.open_subject("101-050", visit)
    return window.subject_view


def test_the_history_is_read_only_while_it_is_shown(window, monkeypatch):
    view = open_a_week_in(window, "C1D8")
    reads = calls_to(monkeypatch, window.service, "audit")
    view.checklist.tick_selected("done")
    assert reads == []  # the checklist tab is shown
    view.tabs.setCurrentWidget(view.history)
    assert reads == [("audit", "101-050")]
    window.show_view("today")
    view.checklist.table.selectRow(1)
    view.checklist.tick_selected("done")
    view.checklist.tick_selected("done")
    assert reads == [("audit", "101-050")]  # the screen is hidden
    window.show_view("subject")
    assert reads == [("audit", "101-050")] * 2  # once for both ticks, when shown again
    assert view.tabs.currentWidget() is view.history
    assert sum(r.field.startswith("procedures.C1D8.") for r in view.history_model.rows() if r.field) == 3


def test_a_tick_reads_the_subject_once_for_the_subject_screen(window, monkeypatch):
    view = open_a_week_in(window, "C1D8")
    reads = calls_to(monkeypatch, window.service, "subject")
    view.checklist.tick_selected("done")
    assert reads == [("subject", "101-050")]  # the timeline's read serves the visit list, the progress and the checklist
    assert view.checklist.model.rows()[0].status == "done"


def test_moving_through_the_visits_reads_the_subject_and_its_signatures_only_after_a_change(window, monkeypatch):
    view = open_a_week_in(window, "C1D1")
    reads = calls_to(monkeypatch, window.service, "subject", "signatures")
    view.step_visit(1)
    view.step_visit(1)
    view.step_visit(-1)
    assert view.checklist.visit.visit.code == "C1D8" and view.checklist.model.rowCount()
    assert reads == []  # each visit's checklist and sign-offs come from the subject screen's last read
    view.checklist.tick_selected("done")
    assert reads == [("subject", "101-050"), ("signatures", "101-050")]  # the change: read once, for the whole screen


def test_the_steroid_is_asked_and_read_alike_for_a_new_subject_and_later(window, session):
    from coordinator.model import NO_STEROID, Steroid
    from coordinator.ui.action_dialogs import SteroidDialog
    service = session.service
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog)
    assert dialog.field("steroid.drug").currentData() is None  # not chosen yet
    dialog.accept()
    assert service.subject("101-050").steroid is None
    dialog = SteroidDialog(session, service.subject("101-050"), window)
    drug = dialog.field("steroid.drug")
    assert drug.findData(None) == -1  # once asked, a steroid (or none) is chosen
    drug.setCurrentIndex(drug.findData("prednisone"))
    dialog.field("steroid.dose_mg").setValue(20)
    dialog.field("steroid.days").setText("1, 8, x")
    dialog.accept()
    assert "must be cycle days separated by commas" in dialog.error_text("steroid.days")
    assert service.subject("101-050").steroid is None
    dialog.field("steroid.days").setText("1, 8")
    dialog.accept()
    assert service.subject("101-050").steroid == Steroid("prednisone", 20.0, (1, 8))
    dialog = SteroidDialog(session, service.subject("101-050"), window)  # shows what is recorded
    assert (dialog.field("steroid.drug").currentData(), dialog.field("steroid.dose_mg").value(),
            dialog.field("steroid.days").text()) == ("prednisone", 20.0, "1,8")
    dialog = SubjectDialog(session, None, window)
    fill_subject(dialog, sid="101-051")
    dialog.field("steroid.drug").setCurrentIndex(dialog.field("steroid.drug").findData(NO_STEROID))
    dialog.accept()
    assert service.subject("101-051").steroid == Steroid(NO_STEROID, 0, ())


def test_the_dashboard_reads_its_rows_once_the_window_is_up(session, qtbot, monkeypatch):
    """The read runs on a worker thread, which would share Python with the window's making: it
    starts when the dashboard is first shown."""
    session.service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    reads = calls_to(monkeypatch, session, "run_in_background")
    window = MainWindow(session)
    qtbot.addWidget(window)
    assert reads == [] and window.due_view.rows() == []
    window.show()
    assert readers(reads) == ["DueView"]
    qtbot.waitUntil(lambda: not window.due_view.loading)
    assert ("101-050", "C1D8") in [(r.subject, r.visit) for r in window.due_view.rows()]  # its visit of today


def test_a_read_that_a_newer_one_overtook_says_nothing_even_when_it_failed(window, session, monkeypatch, answers):
    from coordinator.errors import CoordinatorError
    pending = []
    monkeypatch.setattr(session, "run_in_background", lambda owner, read, done, failed: pending.append(failed))
    view = window.due_view
    view.refresh()
    view.refresh()  # the day moved, say: a newer read
    pending[0](CoordinatorError("the database is busy"))
    assert answers.errors == [] and view.loading  # the newer read will say how it went
    pending[1](CoordinatorError("the database is busy"))
    assert answers.errors == ["The dashboard could not be read.\n\nthe database is busy"] and not view.loading


def test_a_screen_reads_once_at_midnight_and_a_hidden_one_when_shown_again(window, session, qtbot, monkeypatch):
    service = session.service
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    window.subjects_view  # noqa: B018  (built, as after a first visit to the registry)
    window.audit_view  # noqa: B018
    reads = calls_to(monkeypatch, session, "run_in_background")
    timelines = calls_to(monkeypatch, service, "timeline")
    # the dashboard shown: midnight reads it once, the hidden screens not at all
    session.check_clock(TODAY + dt.timedelta(days=1))
    assert readers(reads) == ["DueView"]
    qtbot.waitUntil(lambda: not window.due_view.loading)
    assert window.due_view.title.text().startswith("<h2>Today, Fri 16-Jan-2026")
    # looking at tomorrow when midnight comes: the day looked at stays, and is today now
    session.set_day(TODAY + dt.timedelta(days=2))
    qtbot.waitUntil(lambda: not window.due_view.loading)
    assert window.due_view.title.text().startswith("<h2>Sat 17-Jan-2026")
    reads.clear()
    session.check_clock(TODAY + dt.timedelta(days=2))
    assert readers(reads) == ["DueView"] and session.day == TODAY + dt.timedelta(days=2)
    qtbot.waitUntil(lambda: not window.due_view.loading)
    assert window.due_view.title.text().startswith("<h2>Today, Sat 17-Jan-2026")
    # the subject shown: midnight reads the subject once, and the hidden dashboard waits
    window.open_subject("101-050", "C1D8")
    reads.clear()
    timelines.clear()
    session.check_clock(TODAY + dt.timedelta(days=3))
    assert timelines == [("timeline", "101-050", TODAY + dt.timedelta(days=3))] and reads == []
    assert window.subject_view.checklist.date_edit.value() == TODAY + dt.timedelta(days=3)
    # news while hidden, twice: one read when the screen is shown
    session.notify(service.tick("101-050", "C1D8", window.subject_view.checklist.model.rows()[0].id))
    session.notify(service.tick("101-050", "C1D8", window.subject_view.checklist.model.rows()[1].id))
    assert reads == []
    window.show_view("today")
    window.show_view("subjects")
    assert readers(reads) == ["DueView", "SubjectsView"]
    qtbot.waitUntil(lambda: not window.due_view.loading and not window.subjects_view.loading)
    c1d8 = next(r for r in window.due_view.rows() if (r.subject, r.visit) == ("101-050", "C1D8"))
    assert c1d8.done == 2
    window.show_view("today")
    assert readers(reads) == ["DueView", "SubjectsView"]  # nothing new since: nothing read
    # the audit trail is read each time it is shown: a print tells no screen, yet it is there
    window.show_view("audit")
    qtbot.waitUntil(lambda: not window.audit_view.loading)
    window.show_view("today")
    service.record_print("due list of 2026-01-17")
    window.show_view("audit")
    qtbot.waitUntil(lambda: not window.audit_view.loading)
    assert readers(reads)[-2:] == ["AuditView", "AuditView"]
    assert window.audit_view.rows()[0].action == "print"
