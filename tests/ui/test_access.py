"""Trust in the window: the log-in, the lock after inactivity, what each role is offered, and accounts."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLabel, QLineEdit, QMessageBox

from coordinator import accounts
from coordinator.errors import AccessDenied
from coordinator.service import Service
from coordinator.ui import app as app_mod
from coordinator.ui import lock, log_in_dialog, settings
from coordinator.ui.account_table import AccountTableModel
from coordinator.ui.accounts_dialog import AccountsDialog, AddAccountDialog, SetPasswordDialog
from coordinator.ui.log_in_dialog import LogInDialog
from coordinator.ui.main_window import MainWindow
from coordinator.ui.preferences_dialog import PreferencesDialog
from helpers import PASSWORDS, TODAY, make_subject, menu_action

ROOT = Path(__file__).resolve().parents[2]
def plain(label) -> str:
    """A label's text as read on screen, without its markup."""
    return re.sub(r"<[^>]+>", "", label.text())


def visible_texts(window) -> str:
    """Every label and line edit the user can see in the window, in one string."""
    widgets = window.findChildren(QLabel) + window.findChildren(QLineEdit)
    return "\n".join(w.text() for w in widgets if w.isVisible()) + "\n" + window.windowTitle()


# -- the log-in ---------------------------------------------------------------------------------------
def test_the_log_in_dialog_says_why_and_lets_the_user_try_again(staffed, db_path, qtbot):
    service = Service.open(db_path, today=TODAY)
    dialog = LogInDialog(service, "cora", db_path)
    qtbot.addWidget(dialog)
    assert "SEL-LEN-MM" in dialog.study.text() and db_path.name in dialog.study.text()
    assert dialog.password_edit.echoMode() == QLineEdit.EchoMode.Password
    dialog.password_edit.setText("not the password")
    dialog.accept()
    assert "Wrong user name or password" in dialog.error_text()
    assert dialog.result() != QDialog.DialogCode.Accepted and service.account is None
    assert dialog.password_edit.text() == ""  # typed again, not kept
    dialog.password_edit.setText(PASSWORDS["cora"])
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.account.name == "cora" and service.account.name == "cora"
    service.close()


def test_a_disabled_account_is_told_so(staffed, db_path, qtbot):
    staffed.disable_account("mona")
    service = Service.open(db_path, today=TODAY)
    dialog = LogInDialog(service, "mona")
    qtbot.addWidget(dialog)
    dialog.password_edit.setText(PASSWORDS["mona"])
    dialog.accept()
    assert "disabled" in dialog.error_text() and service.account is None
    service.close()


def test_quit_in_the_log_in_logs_nobody_in(staffed, db_path):
    service = Service.open(db_path, today=TODAY)

    def click_quit():
        quit_button = QApplication.activeModalWidget().buttons.button(QDialogButtonBox.StandardButton.Cancel)
        assert quit_button.text() == "Quit"
        quit_button.click()
    QTimer.singleShot(0, click_quit)
    assert log_in_dialog.log_in(service, "cora") is None
    assert service.account is None
    service.close()


def test_a_database_with_accounts_asks_for_a_log_in_first(staffed, db_path, monkeypatch, qtbot):
    asked = []

    def log_in(service, name="", path=None, parent=None):
        asked.append(name)
        assert not any(isinstance(w, MainWindow) and w.isVisible() for w in QApplication.topLevelWidgets())  # before the window
        return service.log_in("mona", PASSWORDS["mona"])
    monkeypatch.setattr(log_in_dialog, "log_in", log_in)
    monkeypatch.setenv("COORDINATOR_USER", "mona")
    window = app_mod.open_window(db_path)
    qtbot.addWidget(window)
    assert asked == ["mona"]  # the name filled in from COORDINATOR_USER
    assert window.service.account.name == "mona"
    assert "Mona Field (monitor, read only)" in plain(window.user_label)
    assert "Mona Field" in window.status_user.text()


def test_quitting_the_log_in_opens_no_window(staffed, db_path, monkeypatch):
    monkeypatch.setattr(log_in_dialog, "log_in", lambda service, name="", path=None, parent=None: None)
    assert app_mod.open_window(db_path) is None


def test_a_database_without_accounts_opens_without_a_log_in(service, db_path, monkeypatch, qtbot):
    def log_in(*_args, **_kwargs):
        raise AssertionError("asked for a log-in in single-user mode")
    monkeypatch.setattr(log_in_dialog, "log_in", log_in)
    window = app_mod.open_window(db_path, user="tester")
    qtbot.addWidget(window)
    assert window.service.single_user and "tester (single-user" in plain(window.user_label)


def test_smoke_logs_in_from_the_environment(staffed, db_path, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "COORDINATOR_USER",
                                                              "COORDINATOR_PASSWORD")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))

    def smoke(**more):
        return subprocess.run([sys.executable, "-m", "coordinator", "--db", str(db_path), "open", "--smoke"],
                              capture_output=True, text=True, env=env | more, cwd=ROOT, timeout=120)
    result = smoke()
    assert result.returncode == 2 and "set COORDINATOR_USER" in result.stderr and "window up" not in result.stdout
    result = smoke(COORDINATOR_USER="cora", COORDINATOR_PASSWORD="wrong password!")
    assert result.returncode == 2 and "Wrong user name or password" in result.stderr
    result = smoke(COORDINATOR_USER="cora", COORDINATOR_PASSWORD=PASSWORDS["cora"])
    assert result.returncode == 0, result.stderr
    assert "window up" in result.stdout


# -- the lock ------------------------------------------------------------------------------------------
def test_the_window_locks_after_inactivity_and_hides_the_subject(staffed, db_path, qtbot, monkeypatch, answers, window_as):
    window = window_as("cora")
    window.open_subject("101-050", "C1D8")
    assert "101-050" in visible_texts(window)
    assert window.subject_view.record_action.isEnabled()
    monkeypatch.setattr(lock, "MINUTE_MS", 40)  # a "minute" of 40 ms
    window.window_lock.set_minutes(1)
    qtbot.waitUntil(lambda: window.window_lock.locked, timeout=3000)
    screen = window.window_lock.screen
    assert screen.isVisible() and not window.window_lock.content.isVisible()
    assert not window.subject_view.visits.isVisible() and not window.subject_view.checklist.table.isVisible()
    seen = visible_texts(window)
    assert "101-050" not in seen and "ABC" not in seen
    assert "Locked — Cora Diaz" in seen and "Enter your password" in seen
    assert not window.statusBar().isVisible()
    # nothing reachable by keyboard or menu but Quit
    assert not window.subject_view.record_action.isEnabled() and not window.add_subject_action.isEnabled()
    assert not window.lock_action.isEnabled() and window.quit_action.isEnabled()
    assert not any(s.isEnabled() for s in window.subject_view.checklist.tick_shortcuts)
    window.subject_view.record_action.trigger()
    assert "C1D8" not in staffed.subject("101-050").visits
    # a wrong password keeps it locked, with the reason
    screen.password.setText("not my password")
    screen.unlock_button.click()
    assert window.window_lock.locked and "Wrong password." in screen.error_text()
    assert screen.password.text() == ""
    # the right one unlocks it, everything as it was
    qtbot.keyClicks(screen.password, PASSWORDS["cora"])
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    assert not window.window_lock.locked
    assert window.subject_view.visits.isVisible() and "101-050" in visible_texts(window)
    assert window.subject_view.record_action.isEnabled() and window.add_subject_action.isEnabled()
    assert all(s.isEnabled() for s in window.subject_view.checklist.tick_shortcuts)
    assert window.statusBar().isVisible() and window.windowTitle() == "Coordinator · SEL-LEN-MM"


def test_guessing_at_the_lock_screen_slows_down(staffed, db_path, qtbot, window_as):
    window = window_as("cora")
    window.lock_action.trigger()
    screen = window.window_lock.screen
    for _ in range(accounts.FREE_TRIES):
        screen.password.setText("a guess at it")
        screen.try_unlock()
        assert "Wrong password." in screen.error_text()
    for password in ("another guess", PASSWORDS["cora"]):  # even the right one must wait now
        screen.password.setText(password)
        screen.try_unlock()
        assert "Too many failed log-ins for cora: wait" in screen.error_text()
        assert window.window_lock.locked


def test_input_postpones_the_lock(staffed, db_path, qtbot, window_as):
    window = window_as("cora")
    watch = window.window_lock.watch
    assert settings.LOCK_MINUTES.get() == 10  # the default
    assert watch.interval_ms == 10 * 60_000  # as the window set it: ten minutes without input lock it
    watch.set_interval_ms(60_000)  # shorter for the test, so the remaining time moves visibly
    qtbot.wait(300)
    assert watch.remaining_ms() < 59_800
    qtbot.keyClick(window.due_view.filter, Qt.Key.Key_Shift)
    assert watch.remaining_ms() > 59_800
    table = window.due_view.table.viewport()
    QTest.mouseMove(table, QPoint(20, 20))
    qtbot.wait(300)
    QTest.mouseMove(table, QPoint(20, 20))  # a move to where the cursor is already: Qt's, not someone's
    assert watch.remaining_ms() < 59_800
    QTest.mouseMove(table, QPoint(40, 25))
    assert watch.remaining_ms() > 59_800


def test_ctrl_l_locks_at_once_and_closes_the_windows_dialogs(staffed, db_path, qtbot, window_as):
    from coordinator.ui.subject_dialog import SubjectDialog
    window = window_as("cora")
    assert window.lock_action.shortcut().toString() == "Ctrl+L"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.window_lock.locked
    window.window_lock.unlock()
    # a dialog open when the lock comes is cancelled: it saves nothing and shows nothing
    dialog = SubjectDialog(window.session, staffed.subject("101-050"), window)
    QTimer.singleShot(50, window.lock_action.trigger)
    safety = QTimer(dialog)  # never hang the run
    safety.setSingleShot(True)
    safety.timeout.connect(dialog.reject)
    safety.start(5000)
    assert dialog.exec() == QDialog.DialogCode.Rejected
    assert safety.isActive()  # the lock closed it, not the safety net
    safety.stop()
    assert window.window_lock.locked and not dialog.isVisible()
    # and one that a background job opens while locked is cancelled as it appears
    box = QMessageBox(QMessageBox.Icon.Information, "Coordinator", "101-050: imported", parent=window)
    box.show()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=2000)


def test_single_user_mode_never_locks_and_says_so(window, qtbot):
    assert not window.window_lock.available and not window.lock_action.isEnabled()
    window.window_lock.lock()
    assert not window.window_lock.locked
    assert window.window_lock.watch.interval_ms == 0
    dialog = PreferencesDialog(window.service, window)
    qtbot.addWidget(dialog)
    assert "does not lock" in dialog.note.text()
    dialog.lock_minutes.setValue(0)
    assert (dialog.lock_minutes.value(), dialog.lock_minutes.text()) == (0, "never")
    dialog.lock_minutes.setValue(3)
    dialog.accept()
    assert settings.LOCK_MINUTES.get() == 3


def test_the_lock_minutes_are_set_in_preferences(staffed, db_path, qtbot, monkeypatch, window_as):
    window = window_as("cora")
    shown = []
    def answer(dialog):  # File ▸ Preferences…, answered as a user would
        shown.append(dialog)
        assert dialog.lock_minutes.value() == 10 and "Ctrl+L" in dialog.note.text()
        dialog.lock_minutes.setValue(0)  # with accounts it cannot be turned off
        assert (dialog.lock_minutes.value(), dialog.lock_minutes.text()) == (1, "1 minutes")
        dialog.lock_minutes.setValue(25)
        dialog.accept()
        return dialog.result()
    monkeypatch.setattr(PreferencesDialog, "exec", answer)
    menu_action(window, "P&references…").trigger()
    assert shown and settings.LOCK_MINUTES.get() == 25
    assert window.window_lock.watch.interval_ms == 25 * 60_000  # the window follows at once


def test_a_never_chosen_in_single_user_mode_is_the_default_once_there_are_accounts(staffed, qtbot, window_as):
    settings.LOCK_MINUTES.set(0)  # "never", chosen before the first account
    window = window_as("cora")
    assert window.window_lock.watch.interval_ms == settings.LOCK_MINUTES.default * 60_000
    dialog = PreferencesDialog(window.service, window)
    qtbot.addWidget(dialog)
    assert dialog.lock_minutes.value() == settings.LOCK_MINUTES.default and dialog.lock_minutes.text() == "10 minutes"


# -- roles -------------------------------------------------------------------------------------------
def test_a_monitor_reads_everything_and_changes_nothing(staffed, db_path, qtbot, answers, window_as):
    window = window_as("mona")
    for action in (window.add_subject_action, window.import_action, window.export_action, window.print_action,
                   window.packet_action, window.accounts_action):
        assert not action.isEnabled(), action.text()
    assert not window.due_view.print_day_button.isEnabled()
    assert window.lock_action.isEnabled()
    window.open_subject("101-050", "C1D8")
    view = window.subject_view
    assert "101-050" in view.header.text()  # reading works
    assert not any(a.isEnabled() for a in view.write_actions)
    assert not view.requisition_action.isEnabled() and not view.dosing_action.isEnabled()
    checklist = view.checklist
    assert checklist.model.rowCount() > 0 and checklist.table.isEnabled()
    for widget in (checklist.record_button, checklist.done_button, checklist.not_done_button, checklist.clear_button,
                   checklist.date_edit, checklist.notes):
        assert not widget.isEnabled()
    assert not any(s.isEnabled() for s in checklist.tick_shortcuts)
    window.show_view("subjects")
    assert not window.subjects_view.add_button.isEnabled()
    # what slips through is refused by the service, and shown as a plain message
    with pytest.raises(AccessDenied, match="mona \\(monitor\\) may not change subjects and visits"):
        window.service.tick("101-050", "C1D8", checklist.model.rows()[0].id)
    checklist.table.selectRow(0)
    checklist.tick_selected("done")
    assert "may not change subjects and visits" in answers.errors[-1]
    assert staffed.checklist("101-050", "C1D8").items[0].status == "pending"
    try:
        window.service.export_file(db_path.parent / "out.json")
    except AccessDenied:
        app_mod._excepthook(*sys.exc_info())
    assert "may not export subjects" in answers.errors[-1]


def test_a_coordinator_may_change_visits_but_not_accounts(staffed, db_path, qtbot, window_as):
    window = window_as("cora")
    assert window.add_subject_action.isEnabled() and window.print_action.isEnabled()
    assert not window.accounts_action.isEnabled()
    assert "Cora Diaz (coordinator" in plain(window.user_label)
    window.open_subject("101-050", "C1D8")
    assert all(a.isEnabled() for a in (window.subject_view.edit_action, window.subject_view.record_action))
    assert window.subject_view.checklist.done_button.isEnabled()


# -- accounts ------------------------------------------------------------------------------------------
def fill_account(dialog, name, display_name, password, again=None, role=None):
    dialog.field("name").setText(name)
    dialog.field("display name").setText(display_name)
    if role is not None:
        dialog.field("role").setCurrentIndex(dialog.field("role").findData(role))
    dialog.field("password").setText(password)
    dialog.field("password_again").setText(password if again is None else again)


def test_the_first_account_is_an_admin_and_ends_single_user_mode(window, session, qtbot, monkeypatch):
    service = session.service
    assert window.accounts_action.isEnabled()  # single-user: anyone may add the first admin
    dialog = AccountsDialog(session, window)
    qtbot.addWidget(dialog)
    assert "everyone must log in" in dialog.intro.text() and dialog.model.rowCount() == 0
    add = AddAccountDialog(session, dialog)
    qtbot.addWidget(add)
    assert not add.field("role").isEnabled() and add.field("role").currentData() == "admin"
    assert "everyone must log in" in add.intro.text()
    fill_account(add, "ada", "Ada Admin", "short")
    add.accept()
    assert "at least 10 characters" in add.error_text("password") and service.single_user
    fill_account(add, "ada", "Ada Admin", PASSWORDS["ada"], again="something else")
    add.accept()
    assert "differ" in add.error_text("password_again") and service.single_user
    fill_account(add, "ada", "Ada Admin", PASSWORDS["ada"])
    add.accept()
    assert add.result() == QDialog.DialogCode.Accepted
    assert service.account.name == "ada" and not service.single_user
    dialog.refresh()
    assert [a.name for a in dialog.model.rows()] == ["ada"] == [a.name for a in service.accounts()]
    assert "Logged in as <b>Ada Admin</b>" in dialog.intro.text()


def test_the_window_follows_when_single_user_mode_ends(window, session, monkeypatch):
    def add_first_admin(dialog):  # as its "Add account" dialog does: the write, then the news of it
        dialog.session.notify(dialog.service.add_account("ada", "admin", PASSWORDS["ada"], "Ada Admin"))
        return 0
    monkeypatch.setattr(AccountsDialog, "exec", add_first_admin)
    assert window.add_subject_action.isEnabled() and not window.lock_action.isEnabled()
    window.service.add_subject(make_subject("101-050", c1d1=TODAY))
    window.open_subject("101-050", "C1D1")
    sign = window.subject_view.checklist.sign_button
    assert sign.toolTip().startswith("Signing needs accounts")
    window._on_accounts_triggered()
    assert "Ada Admin (admin" in plain(window.user_label)
    assert sign.toolTip().startswith("Only an investigator signs off visits (ada is a admin)")  # the subject screen follows
    assert not window.add_subject_action.isEnabled()  # an admin manages accounts, not subjects
    assert window.lock_action.isEnabled() and window.window_lock.watch.interval_ms == 10 * lock.MINUTE_MS


def test_an_admin_adds_disables_and_enables_accounts(staffed, db_path, qtbot, answers, window_as):
    window = window_as("ada")
    assert window.accounts_action.isEnabled()
    session = window.session
    dialog = AccountsDialog(session, window)
    qtbot.addWidget(dialog)
    assert {a.name for a in dialog.model.rows()} == {"ada", "cora", "mona", "ivan"}
    add = AddAccountDialog(session, dialog)
    qtbot.addWidget(add)
    fill_account(add, "9lives", "Nine", "a long enough password", role="coordinator")
    add.accept()
    assert "starting with a letter" in add.error_text("name")
    fill_account(add, "cora", "Cora Again", "a long enough password", role="coordinator")
    add.accept()
    assert "already exists" in add.error_text("name")
    fill_account(add, "pat", "Pat Lee", "pat's long password", role="investigator")
    add.accept()
    assert add.result() == QDialog.DialogCode.Accepted
    dialog.refresh(select="pat")
    assert dialog.selected_name() == "pat"
    pat = next(a for a in window.service.accounts() if a.name == "pat")
    assert (pat.role, pat.display_name, pat.active) == ("investigator", "Pat Lee", True)
    row = [a.name for a in dialog.model.rows()].index("pat")
    assert dialog.model.index(row, 3).data() == "✓ active"
    # disable (asked first), then enable again
    dialog._on_disable_clicked()
    assert not next(a for a in window.service.accounts() if a.name == "pat").active
    row = [a.name for a in dialog.model.rows()].index("pat")
    assert dialog.model.index(row, 3).data().startswith("✕ disabled")
    assert dialog.enable_button.isEnabled() and not dialog.disable_button.isEnabled()
    dialog._on_enable_clicked()
    assert next(a for a in window.service.accounts() if a.name == "pat").active
    # the last active admin cannot be disabled: said plainly
    dialog.refresh(select="ada")
    dialog._on_disable_clicked()
    assert "last active admin" in answers.errors[-1]
    # a new password for someone
    setter = SetPasswordDialog(session, "pat", dialog)
    qtbot.addWidget(setter)
    setter.field("password").setText("pat")
    setter.field("password_again").setText("pat")
    setter.accept()
    assert "at least 10 characters" in setter.error_text("password")
    setter.field("password").setText("pat's new long password")
    setter.field("password_again").setText("pat's new long password")
    setter.accept()
    assert setter.result() == QDialog.DialogCode.Accepted
    check = Service.open(db_path, today=TODAY)
    assert check.log_in("pat", "pat's new long password").name == "pat"
    check.close()


def test_account_model(qtmodeltester, staffed):
    staffed.disable_account("mona")
    model = AccountTableModel()
    model.set_rows(staffed.accounts())
    qtmodeltester.check(model)
    texts = [model.index(r, c).data() for r in range(model.rowCount()) for c in range(model.columnCount())]
    assert "Mona Field" in texts and "monitor" in texts
    assert not any("scrypt" in (t or "") for t in texts)  # never a password hash


def test_changing_my_own_password_asks_for_the_current_one(staffed, db_path, qtbot, window_as):
    window = window_as("cora")
    dialog = SetPasswordDialog(window.session, "cora", window)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Change my password"
    for name, text in (("current password", "not my password"), ("password", "a brand new password"),
                       ("password_again", "a brand new password")):
        dialog.field(name).setText(text)
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and "Wrong password." in dialog.error_text()
    dialog.field("current password").setText(PASSWORDS["cora"])
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    Service.open(db_path, today=TODAY).log_in("cora", "a brand new password")
