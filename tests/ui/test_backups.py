"""Backups from the window: automatic ones (on the worker thread, on closing, skipped when nothing
changed), Back up now, Restore, and a damaged database offered its last good backup."""

from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from helpers import PASSWORDS, TODAY, make_subject, other_study_backup, reopened

from coordinator import service as service_mod
from coordinator.service import Service
from coordinator.ui import app as app_mod
from coordinator.ui import ask, backups, settings
from coordinator.ui.preferences_dialog import PreferencesDialog


@pytest.fixture
def folder(tmp_path, db_path):
    """The backup folder chosen in the Preferences: this database's own folder inside it."""
    settings.BACKUP_FOLDER.set(str(tmp_path / "elsewhere"))
    own = backups.backup_folder(db_path)
    assert own.parent == tmp_path / "elsewhere" and own.name.startswith("study-")
    return own


def test_automatic_backups_go_to_the_chosen_folder(window, session, folder, qtbot):
    session.service.add_subject(make_subject("101-050", c1d1=TODAY))
    window.backups.back_up_in_background()
    qtbot.waitUntil(lambda: "Backed up automatically" in window.statusBar().currentMessage())
    [first] = folder.glob("study-*.db")
    assert Service.open(first, user="x").store.subject_ids() == ["101-050"]
    window.close()  # nothing changed since: no second copy
    assert list(folder.glob("study-*.db")) == [first]
    assert [r.action for r in Service.open(session.path, user="x").audit()].count("auto_backup") == 1


def test_closing_the_window_backs_up_what_changed(window, session, folder):
    session.service.add_subject(make_subject("101-050", c1d1=TODAY))
    window.close()
    [backup] = folder.glob("study-*.db")
    assert Service.open(backup, user="x").store.subject_ids() == ["101-050"]


def test_a_failed_automatic_backup_is_said_in_the_status_bar(window, session, tmp_path, qtbot):
    (tmp_path / "a file").write_text("not a folder")
    settings.BACKUP_FOLDER.set(str(tmp_path / "a file" / "backups"))
    window.backups.back_up_in_background()
    qtbot.waitUntil(lambda: "▲ The automatic backup failed" in window.statusBar().currentMessage())


def test_back_up_now(window, session, folder, answers, monkeypatch, qtbot):
    target = folder / "monday.db"
    folder.mkdir(parents=True)
    monkeypatch.setattr(ask, "save_file", lambda *_args: str(target))
    window.backup_action.trigger()
    qtbot.waitUntil(lambda: bool(answers.infos))
    assert answers.infos[-1].startswith(f"Backed up to {target}: 0 subjects") and "Audit head hash" in answers.infos[-1]
    assert session.service.audit()[-1].action == "backup"


def test_restore_from_a_backup_reopens_the_window(staffed, db_path, folder, monkeypatch, qtbot, window_as, answers):
    folder.mkdir(parents=True)
    staffed.backup(folder / "before.db")
    cora = Service.open(db_path, today=TODAY)
    cora.log_in("cora", PASSWORDS["cora"])
    cora.add_subject(make_subject("101-051", c1d1=TODAY))
    window = window_as("ada")
    assert window.restore_action.isEnabled()
    opened = reopened(window)
    monkeypatch.setattr(ask, "open_file", lambda *_args: str(folder / "before.db"))
    window.restore_action.trigger()  # the check, then the restore, on the worker thread
    qtbot.waitUntil(lambda: opened == [db_path])
    assert not window.isVisible()
    [question] = answers.questions
    assert "The backup holds study SEL-LEN-MM: 1 subjects, its last change on " in question
    assert "The study has 2 subjects now." in question
    assert Service.open(db_path, today=TODAY).store.subject_ids() == ["101-050"]
    assert list(folder.glob("study-before-restore-*.db"))  # what was replaced, kept


def test_a_restore_checks_and_copies_on_the_worker_thread(window, service, folder, monkeypatch, qtbot, answers):
    """A large study takes seconds to check and tens of seconds to restore: never on the GUI thread."""
    import threading

    folder.mkdir(parents=True)
    service.add_subject(make_subject("101-050", c1d1=TODAY))
    service.backup(folder / "before.db")
    on_gui_thread = []
    for name in ("check_backup", "restore"):
        real = getattr(Service, name)
        monkeypatch.setattr(Service, name, lambda self, *args, _real=real, **kwargs: (
            on_gui_thread.append(threading.current_thread() is threading.main_thread()), _real(self, *args, **kwargs))[1])
    opened = reopened(window)
    monkeypatch.setattr(ask, "open_file", lambda *_args: str(folder / "before.db"))
    window.restore_action.trigger()
    qtbot.waitUntil(lambda: bool(opened))
    assert on_gui_thread == [False, False] and not answers.errors


def test_another_studys_backup_is_refused_and_nothing_replaced(window, service, tmp_path, monkeypatch, qtbot, answers):
    opened = reopened(window)
    monkeypatch.setattr(ask, "open_file", lambda *_args: str(other_study_backup(tmp_path)))
    window.restore_action.trigger()
    qtbot.waitUntil(lambda: bool(answers.errors))
    assert answers.errors[0].startswith("Nothing was restored.\n\nother-backup.db is a backup of study OTHER-01")
    assert opened == [] and answers.questions == [] and window.isVisible() and window.service.protocol.code == "SEL-LEN-MM"


def test_only_admins_restore_and_monitors_do_not_back_up(staffed, db_path, qtbot, window_as):
    cora = window_as("cora")
    assert cora.backup_action.isEnabled() and not cora.restore_action.isEnabled()
    mona = window_as("mona")
    assert not mona.backup_action.isEnabled() and not mona.restore_action.isEnabled()


def test_a_damaged_database_is_offered_its_last_good_backup(service, db_path, folder, answers, monkeypatch):
    service.add_subject(make_subject("101-050", c1d1=TODAY))
    service.auto_backup(folder)
    service.close()
    for extra in ("-wal", "-shm"):
        db_path.with_name(db_path.name + extra).unlink(missing_ok=True)
    db_path.write_bytes(b"scribbled over" * 1000)
    answers.confirms = [False]
    assert app_mod.open_database(db_path, "tester") is None  # declined: nothing touched
    assert "The last good backup is study-" in answers.questions[0] and "1 subjects" in answers.questions[0]
    assert db_path.read_bytes() == b"scribbled over" * 1000
    restored = app_mod.open_database(db_path, "tester")  # and opened
    assert restored.store.subject_ids() == ["101-050"]
    restored.close()
    assert list(db_path.parent.glob("study.db.before-restore-*"))


def test_a_damaged_database_without_a_backup_says_so(db_path, folder, answers):
    db_path.write_bytes(b"scribbled over" * 1000)
    assert app_mod.open_database(db_path, "tester") is None
    assert "No good backup of it was found in" in answers.errors[-1] and str(folder) in answers.errors[-1]


def test_the_backup_folder_is_a_preference(session, tmp_path, qtbot, monkeypatch):
    dialog = PreferencesDialog(session.service)
    qtbot.addWidget(dialog)
    assert dialog.backup_folder.placeholderText() == str(tmp_path / "backups")
    asked = []
    monkeypatch.setattr(ask, "folder", lambda _parent, _title, start: asked.append(start))  # cancelled
    qtbot.mouseClick(dialog.choose_folder, Qt.MouseButton.LeftButton)
    assert asked == [str(tmp_path / "backups")] and dialog.backup_folder.text() == ""
    monkeypatch.setattr(ask, "folder", lambda _parent, _title, start: str(tmp_path / "usb"))
    qtbot.mouseClick(dialog.choose_folder, Qt.MouseButton.LeftButton)
    assert dialog.backup_folder.text() == str(tmp_path / "usb")
    dialog.accept()
    assert backups.backup_folder(session.path).parent == tmp_path / "usb"
    other = tmp_path / "other site" / "study.db"  # same name, another study: another folder
    assert backups.backup_folder(other).parent == tmp_path / "usb"
    assert backups.backup_folder(other) != backups.backup_folder(session.path)


def test_the_backup_offered_says_when_it_was_checked_in_local_time(paris, db_path, folder, monkeypatch, answers):
    report = SimpleNamespace(subjects=3, taken_at="2026-11-23T13:03:12.123456Z")
    monkeypatch.setattr(service_mod, "last_good_backup", lambda _path, _folder: (folder / "study-20261123.db", report))
    answers.confirms = [False]
    assert not backups.offer_last_good_backup(None, db_path, "file is not a database", "tester")
    assert "The last good backup is study-20261123.db (3 subjects, checked 23-Nov-2026 14:03 CET)" in answers.questions[0]
