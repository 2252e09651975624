"""The study's audit trail screen (filters, CSV export, the hash chain check) and the
investigator's sign-off of a visit."""

import codecs
import csv
import datetime as dt
import re
import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from coordinator.ui import ask
from coordinator.ui.audit_table import AuditFilter, AuditTableModel
from coordinator.ui.audit_view import CSV_HEADER
from coordinator.ui.sign_dialog import SignDialog
from coordinator.ui.times import local_date, local_time
from helpers import another_writer, d, make_subject

FORMULA = '=HYPERLINK("http://example.org") initials misread'
INVESTIGATOR_PASSWORD = "investigator pass 1"
COORDINATOR_PASSWORD = "coordinator pass 1"


@pytest.fixture
def trail(enrolled):
    """Writes by two users: 101-001 enrolled, C1D8 recorded and one item ticked; 101-002 added,
    its initials corrected (with a reason a spreadsheet would run as a formula), a form printed."""
    s = enrolled
    s.record_visit("101-001", "C1D8", d("2025-03-10"), notes="all well")
    s.tick("101-001", "C1D8", s.checklist("101-001", "C1D8").items[0].id)
    s.add_subject(make_subject("101-002", sex="M"))
    s.user = "other"
    s.edit_subject("101-002", reason=FORMULA, initials="XYZ")
    s.record_print("requisition 101-001 C1D8", "101-001")
    s.user = "tester"
    return s


def open_trail(window, qtbot):
    window.show_view("audit")
    view = window.audit_view
    qtbot.waitUntil(lambda: not view.loading)
    return view


def shown_seqs(view):
    return [r.seq for r in view.rows()]


# -- the model ------------------------------------------------------------------------------------


def test_audit_model(qtmodeltester, trail, paris):
    model = AuditTableModel()
    model.set_rows(trail.audit())
    qtmodeltester.check(model)
    qtmodeltester.check(AuditFilter(model))
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert titles == ["#", "When", "Who", "Action", "Subject", "Field", "Old → new", "Reason"]
    visit = next(r for r in range(model.rowCount()) if model.row(model.index(r, 0)).action == "record_visit")
    cells = [model.index(visit, c).data() for c in range(model.columnCount())]
    assert cells[2:6] == ["tester", "record visit", "101-001", "visits.C1D8"]
    assert cells[6] == "–  →  date 10-Mar-2025, notes all well"
    assert re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d CES?T", cells[1])
    at = model.row(model.index(visit, 0)).at
    assert model.index(visit, 1).data(Qt.ItemDataRole.ToolTipRole) == f"{at} (UTC, as stored)"
    assert at.endswith("Z")


# -- the screen -----------------------------------------------------------------------------------
def test_the_trail_lists_every_row_newest_first(trail, window, qtbot):
    view = open_trail(window, qtbot)
    assert window.stack.currentWidget() is view
    expected = [r.seq for r in trail.audit()]
    assert shown_seqs(view) == sorted(expected, reverse=True)
    assert view.count.text() == f"{len(expected)} rows"
    assert [view.user_combo.itemData(i) for i in range(view.user_combo.count())] == [None, "other", "tester"]
    assert "edit_subject" in [view.action_combo.itemData(i) for i in range(view.action_combo.count())]
    # a change made while the trail is shown appears in it
    s = window.service
    window.session.notify(s.tick("101-001", "C1D8", s.checklist("101-001", "C1D8").items[1].id))
    qtbot.waitUntil(lambda: not view.loading and len(view.rows()) == len(expected) + 1)
    assert view.rows()[0].action == "tick"


def test_each_filter_narrows_the_rows(trail, window, qtbot):
    view = open_trail(window, qtbot)
    every = trail.audit()
    total = len(every)

    def expect(keep):
        wanted = sorted((r.seq for r in every if keep(r)), reverse=True)
        assert shown_seqs(view) == wanted and 0 < len(wanted) < total
        assert view.count.text() == f"{len(wanted)} of {total} rows"

    view.subject_edit.setText("002")
    expect(lambda r: r.subject_id == "101-002")
    view.clear_filters()
    assert len(view.rows()) == total
    view.user_combo.setCurrentIndex(view.user_combo.findData("other"))
    expect(lambda r: r.user == "other")
    view.clear_filters()
    view.action_combo.setCurrentIndex(view.action_combo.findData("tick"))
    expect(lambda r: r.action == "tick")
    view.clear_filters()
    view.search.setText("hyperlink")  # free text: the reason column, ignoring case
    expect(lambda r: r.reason == FORMULA)
    view.search.setText("10-mar-2025")  # as shown (the stored value is 2025-03-10)
    expect(lambda r: r.field == "visits.C1D8")
    view.clear_filters()
    # dates: the local day the rows were written, and the days either side
    day = local_date(every[-1].at)
    view.from_check.setChecked(True)
    view.from_edit.set_value(day)
    assert len(view.rows()) == total
    view.from_edit.set_value(day + dt.timedelta(days=1))
    assert view.rows() == [] and view.count.text() == f"0 of {total} rows"
    view.from_check.setChecked(False)
    view.to_check.setChecked(True)
    view.to_edit.set_value(day - dt.timedelta(days=1))
    assert view.rows() == []
    view.to_edit.set_value(day)
    assert len(view.rows()) == total
    # filters combine
    view.to_check.setChecked(False)
    view.subject_edit.setText("101-001")
    view.user_combo.setCurrentIndex(view.user_combo.findData("other"))
    expect(lambda r: r.subject_id == "101-001" and r.user == "other")


def test_opening_a_row_opens_its_subject_at_its_visit(trail, window, qtbot):
    view = open_trail(window, qtbot)
    view.action_combo.setCurrentIndex(view.action_combo.findData("init"))
    view.table.activated.emit(view.proxy.index(0, 0))  # no subject: nothing happens
    assert window.stack.currentWidget() is view
    view.action_combo.setCurrentIndex(view.action_combo.findData("tick"))
    view.table.activated.emit(view.proxy.index(0, 0))
    assert window.stack.currentWidget() is window.subject_view
    assert window.subject_view.subject_id == "101-001"
    assert window.subject_view.checklist.visit.visit.code == "C1D8"


def test_a_study_wide_change_reaches_the_trail_and_no_subject_screen(trail, window, qtbot, monkeypatch):
    """A print, an account or an export changes no subject: the trail shown lists its row at once,
    while the due list and the registry are not read again; a write that saved nothing tells no one."""
    view = open_trail(window, qtbot)
    rereads = []
    monkeypatch.setattr(window.due_view.reloader, "request", lambda *_: rereads.append("due"))
    monkeypatch.setattr(window.subjects_view.reloader, "request", lambda *_: rereads.append("subjects"))
    before = len(view.rows())
    window.session.notify(window.service.record_print("due list of 2025-03-10"))
    qtbot.waitUntil(lambda: not view.loading and len(view.rows()) == before + 1)
    assert (view.rows()[0].action, view.rows()[0].new) == ("print", "due list of 2025-03-10")
    assert rereads == []
    heard = []
    window.session.changed.connect(heard.append)
    item = window.service.checklist("101-001", "C1D8").items[0].id  # ticked by the trail already
    window.session.notify(window.service.tick("101-001", "C1D8", item))
    assert heard == [] and rereads == []


def test_export_writes_the_rows_shown_and_is_audited(trail, window, qtbot, tmp_path, monkeypatch, answers):
    view = open_trail(window, qtbot)
    view.subject_edit.setText("101-002")
    shown = view.rows()
    target = tmp_path / "trail.csv"
    monkeypatch.setattr(ask, "save_file", lambda *_args: str(target))
    view.export_button.click()
    assert not answers.errors
    assert target.read_bytes().startswith(codecs.BOM_UTF8)  # Excel reads it as UTF-8
    with target.open(encoding="utf-8-sig", newline="") as f:
        header, *lines = list(csv.reader(f))
    assert tuple(header) == CSV_HEADER
    assert [(int(line[0]), line[1], line[2], line[3], line[4]) for line in lines] == \
        [(r.seq, r.at, r.user, r.action, r.subject_id) for r in shown]
    for line in lines:
        assert dt.datetime.fromisoformat(line[1].replace("Z", "+00:00")).utcoffset() == dt.timedelta(0)
    assert [line[8] for line in lines if line[8]] == ["'" + FORMULA]  # a spreadsheet shows it, never runs it
    assert not (tmp_path / "trail.csv.part").exists()
    assert answers.infos == [f"Exported {len(shown)} rows of the audit trail to {target}."]
    last = trail.audit()[-1]
    assert (last.action, last.user, last.new) == ("export", "tester", f"audit trail CSV: {len(shown)} rows -> trail.csv")
    # the screen reads the trail again: the export's own row is listed
    qtbot.waitUntil(lambda: not view.loading)
    view.clear_filters()
    assert view.rows()[0].seq == last.seq


def test_an_export_that_cannot_be_written_says_so_and_records_nothing(trail, window, qtbot, tmp_path, monkeypatch,
                                                                       answers):
    view = open_trail(window, qtbot)
    target = tmp_path / "no such folder" / "trail.csv"
    monkeypatch.setattr(ask, "save_file", lambda *_args: str(target))
    view.export_button.click()
    assert "Cannot write" in answers.errors[0] and "Nothing was exported" in answers.errors[0]
    assert trail.audit()[-1].action != "export"
    assert not target.parent.exists()


def test_verify_shows_an_intact_chain_then_the_broken_row(trail, window, qtbot, db_path):
    view = open_trail(window, qtbot)
    rows = len(trail.audit())
    with qtbot.waitSignal(view.verified):
        view.verify_button.click()
    text = view.verify_result.text()
    assert text.startswith("✓ The audit trail is intact") and f"{rows} rows" in text
    assert trail.verify_audit().head in text
    # someone edits a row behind the app's back
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET reason = 'nothing to see' WHERE seq = 4")
    conn.commit()
    conn.close()
    with qtbot.waitSignal(view.verified):
        view.verify_button.click()
    text = view.verify_result.text()
    assert text.startswith("▲ The audit trail is broken")
    assert "Row #4 does not match its hash" in text and "#3 " not in text and "#5 " not in text


# -- signing off a visit ---------------------------------------------------------------------------
@pytest.fixture
def investigator(monkeypatch, enrolled):
    """Accounts: an admin, an investigator (logged in) and a coordinator; 101-001's C1D8 recorded."""
    s = enrolled
    s.record_visit("101-001", "C1D8", d("2025-03-10"))
    s.add_account("admin1", "admin", "correct horse battery", "Admin")  # the first: this service is now admin1
    s.add_account("ainv", "investigator", INVESTIGATOR_PASSWORD, "Dr A. Investigator")
    s.add_account("coord1", "coordinator", COORDINATOR_PASSWORD, "C. Coordinator")
    s.log_in("ainv", INVESTIGATOR_PASSWORD)
    return s


def test_an_investigator_signs_off_a_recorded_visit(investigator, window, session, monkeypatch):
    window.open_subject("101-001", "C1D8")
    view = window.subject_view
    checklist = view.checklist
    assert checklist.visit.visit.code == "C1D8"
    assert view.sign_action.isEnabled() and checklist.sign_button.isEnabled()
    assert checklist.signed.isHidden()
    dialog = SignDialog(session, "101-001", checklist.visit.visit, window)
    assert "Dr A. Investigator" in dialog.intro.text() and "C1D8" in dialog.intro.text()
    assert dialog.field("meaning").text() == "reviewed and approved"
    dialog.field("password").setText(INVESTIGATOR_PASSWORD)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted, dialog.error_text("password") or dialog.error_text()
    [signature] = investigator.signatures("101-001")
    assert (signature.visit, signature.user, signature.meaning) == ("C1D8", "ainv", "reviewed and approved")
    assert not checklist.signed.isHidden()
    assert checklist.signed.text().endswith(
        f"Signed by <b>Dr A. Investigator</b> (ainv) on {local_time(signature.at, seconds=False)} — reviewed and approved")
    # through the Subject menu's action, with a meaning of one's own
    def sign(dialog):
        dialog.field("meaning").setText("reviewed")
        dialog.field("password").setText(INVESTIGATOR_PASSWORD)
        dialog.accept()
        return dialog.result()
    monkeypatch.setattr(SignDialog, "exec", sign)
    view.sign_action.trigger()
    assert [s.meaning for s in investigator.signatures("101-001")] == ["reviewed and approved", "reviewed"]
    assert checklist.signed.text().count("Signed by") == 2
    assert "changed since" not in checklist.signed.text()
    checklist_items = [i.id for i in investigator.checklist("101-001", "C1D8").items if i.status == "pending"]
    investigator.tick("101-001", "C1D8", checklist_items[0])
    session.notify(investigator.tick("101-001", "C1D8", checklist_items[1]))
    assert checklist.signed.text().count("▲ changed since: sign again") == 2


def test_the_signers_name_shows_as_written_never_as_markup(enrolled, window, session):
    enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))
    enrolled.add_account("admin1", "admin", "correct horse battery", "Admin")
    enrolled.add_account("bold", "investigator", INVESTIGATOR_PASSWORD, "Dr <i>Bold</i> & Sons")
    enrolled.log_in("bold", INVESTIGATOR_PASSWORD)
    window.open_subject("101-001", "C1D8")
    dialog = SignDialog(session, "101-001", window.subject_view.checklist.visit.visit, window)
    shown = QTextDocument()
    shown.setHtml(dialog.intro.text())
    assert "Signing as Dr <i>Bold</i> & Sons (bold)." in shown.toPlainText()


def test_a_wrong_password_is_said_in_the_dialog_and_signs_nothing(investigator, window, session, monkeypatch):
    from PySide6.QtWidgets import QApplication
    window.open_subject("101-001", "C1D8")
    dialog = SignDialog(session, "101-001", window.subject_view.checklist.visit.visit, window)
    dialog.field("password").setText("not my password")
    cursors = []
    sign_visit = investigator.sign_visit
    def watched(*args):
        cursors.append(QApplication.overrideCursor().shape())  # the check takes a moment: a wait cursor
        return sign_visit(*args)
    monkeypatch.setattr(investigator, "sign_visit", watched)
    dialog.accept()
    assert cursors == [Qt.CursorShape.WaitCursor] and QApplication.overrideCursor() is None
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "Wrong password." in dialog.error_text("password")
    assert dialog.field("password").text() == ""
    assert investigator.signatures("101-001") == []
    assert window.subject_view.checklist.signed.isHidden()


def test_only_an_investigator_signs_and_only_a_recorded_visit(investigator, window):
    window.open_subject("101-001", "C1D15")  # not recorded yet
    view = window.subject_view
    assert not view.sign_action.isEnabled() and not view.checklist.sign_button.isEnabled()
    assert "not recorded" in view.checklist.sign_button.toolTip()
    investigator.log_in("coord1", COORDINATOR_PASSWORD)
    window.open_subject("101-001", "C1D8")
    assert not view.sign_action.isEnabled() and not view.checklist.sign_button.isEnabled()
    assert "Only an investigator" in view.checklist.sign_button.toolTip()


def test_nobody_signs_without_accounts(enrolled, window):
    enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))
    window.open_subject("101-001", "C1D8")
    assert not window.subject_view.sign_action.isEnabled()
    assert "needs accounts" in window.subject_view.checklist.sign_button.toolTip()


def test_an_export_the_trail_cannot_record_keeps_the_file_that_was_there(trail, window, qtbot, tmp_path, monkeypatch,
                                                                         answers, db_path):
    view = open_trail(window, qtbot)
    target = tmp_path / "trail.csv"
    target.write_text("last week's export")
    monkeypatch.setattr(ask, "save_file", lambda *_args: str(target))
    with another_writer(db_path, trail):  # the export row cannot be written
        view.export_button.click()
    assert "Nothing was exported" in answers.errors[0] and "in use by another program" in answers.errors[0]
    assert target.read_text() == "last week's export" and not (tmp_path / "trail.csv.part").exists()
