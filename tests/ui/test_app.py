"""Starting the app: the command line opens the window, or says plainly why it cannot."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import TODAY, make_subject
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog

from coordinator.service import Service

from coordinator.ui import app as app_mod
from coordinator.ui import ask
from coordinator.ui.first_run_dialog import FirstRunDialog

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args, env_changes, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_changes)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # QSettings of the child stay in the test folder
    return subprocess.run([sys.executable, "-m", "coordinator", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_without_a_display_it_says_so_and_prints_the_due_list(tmp_path):
    db = tmp_path / "demo.db"
    result = run_cli(["--db", str(db), "open", "--demo"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No display here" in result.stdout
    assert "created a demo database" in result.stdout
    assert "OVERDUE" in result.stdout or "DUE" in result.stdout
    assert db.exists()


def test_the_window_opens_on_a_new_demo_database(tmp_path):
    """./run's first command: a new demo database, and the window."""
    db = tmp_path / "demo.db"
    result = run_cli(["--db", str(db), "open", "--demo", "--smoke"], {"QT_QPA_PLATFORM": "offscreen"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "window up" in result.stdout
    assert db.exists()


def test_a_damaged_database_gives_a_message_not_a_traceback(tmp_path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not a database" * 100)
    result = run_cli(["--db", str(db), "open", "--smoke"], {"QT_QPA_PLATFORM": "offscreen"}, tmp_path)
    assert result.returncode == 2
    assert "cannot be opened" in result.stderr and "Traceback" not in result.stderr
    assert db.read_bytes() == b"this is not a database" * 100


def test_first_run_offers_the_demo_or_a_new_study(tmp_path, qtbot):
    dialog = FirstRunDialog(tmp_path / "none.db")
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    assert dialog.choice == ("demo", None) and dialog.result() == dialog.DialogCode.Accepted
    dialog = FirstRunDialog(tmp_path / "none.db")
    qtbot.addWidget(dialog)
    assert "SEL-LEN-MM" in dialog.new_button.text()  # the bundled protocol
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    assert dialog.choice == ("new", None) and dialog.result() == dialog.DialogCode.Accepted
    dialog = FirstRunDialog(tmp_path / "none.db")
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.quit_button, Qt.MouseButton.LeftButton)
    assert dialog.choice is None and dialog.result() == dialog.DialogCode.Rejected


def test_a_new_study_database_is_created_off_the_gui_thread(tmp_path, answers, monkeypatch):
    made_on = []
    create = Service.create.__func__
    monkeypatch.setattr(Service, "create", classmethod(
        lambda cls, *args, **kwargs: made_on.append(threading.current_thread().name) or create(cls, *args, **kwargs)))
    db = tmp_path / "new.db"
    service = app_mod.open_database(db, None, "new")
    assert service.store.subject_ids() == [] and service.protocol.code == "SEL-LEN-MM"
    assert made_on == ["open-database"]
    service.close()
    assert app_mod.open_database(tmp_path / "other.db", None, "new", tmp_path / "missing.toml") is None
    assert "cannot be opened" in answers.errors[0] and not (tmp_path / "other.db").exists()


def test_a_database_with_nothing_to_redo_opens_at_once_on_the_gui_thread(service, db_path, monkeypatch, answers):
    service.close()
    monkeypatch.setattr(app_mod, "_in_background", lambda *_args: pytest.fail("opened through a worker thread"))
    opened = app_mod.open_database(db_path, "tester")
    assert opened.store.subject_ids() == []
    opened.close()


def test_plans_to_rebuild_are_rebuilt_off_the_gui_thread_behind_a_progress_window(service, db_path, monkeypatch,
                                                                                   answers):
    """After the schedule rules changed, every plan is rebuilt on opening: on a large database
    that takes a while, so it runs on a worker thread, and the window shows its progress."""
    service.add_subject(make_subject("101-050", c1d1=TODAY))
    service.store.conn.execute("UPDATE meta SET value = 'old' WHERE key = 'plan_version'")
    service.store.conn.commit()
    service.close()
    opened_on, progress_seen = [], []
    real_open = Service.open.__func__

    def slow_open(cls, *args, **kwargs):
        opened_on.append(threading.current_thread().name)
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.3)  # a large database's rebuild
        return real_open(cls, *args, **kwargs)
    monkeypatch.setattr(Service, "open", classmethod(slow_open))
    monkeypatch.setattr(ask, "BUSY_AFTER_MS", 50)
    watch = QTimer(interval=20)  # runs only while the GUI thread handles events: it is never frozen
    watch.timeout.connect(lambda: progress_seen.extend(
        w.labelText() for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()))
    watch.start()
    opened = app_mod.open_database(db_path, "tester")
    watch.stop()
    assert opened_on == ["open-database", "MainThread"]  # rebuilt on the worker, then opened for the window
    assert progress_seen and progress_seen[0] == "Opening study.db…"
    assert opened.store.meta("plan_version") == opened._plan_version()
    assert not any(isinstance(w, QProgressDialog) and w.isVisible() for w in QApplication.topLevelWidgets())
    opened.close()


def test_an_unexpected_error_is_shown_as_a_bug_not_swallowed(monkeypatch, answers):
    seen = []
    monkeypatch.setattr(app_mod.ask, "bug", lambda _parent, summary, details: seen.append((summary, details)))
    try:
        raise ValueError("boom")
    except ValueError:
        app_mod._excepthook(*sys.exc_info())
    assert seen and seen[0][0] == "ValueError: boom" and "Traceback" in seen[0][1]


@pytest.mark.parametrize("module", ["coordinator.cli", "coordinator.service"])
def test_the_command_line_never_loads_qt(module):
    code = f"import sys, {module}; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_first_run_checks_another_protocol_file_before_anything_is_made(tmp_path, qtbot, monkeypatch, answers):
    from coordinator import protocol as protocol_mod
    broken = tmp_path / "broken.toml"
    broken.write_text("format = 'coordinator-protocol/1'\ncode = 'X'\n", encoding="utf-8")
    good = tmp_path / "other.toml"
    good.write_text(protocol_mod.BUNDLED.read_text(encoding="utf-8"), encoding="utf-8")
    dialog = FirstRunDialog(tmp_path / "none.db")
    qtbot.addWidget(dialog)
    monkeypatch.setattr(ask, "open_file", lambda _parent, _title, _folder, _filters: None)
    qtbot.mouseClick(dialog.other_button, Qt.MouseButton.LeftButton)  # cancelled: nothing chosen, nothing said
    assert dialog.choice is None and answers.errors == []
    monkeypatch.setattr(ask, "open_file", lambda _parent, _title, _folder, _filters: str(broken))
    qtbot.mouseClick(dialog.other_button, Qt.MouseButton.LeftButton)
    assert dialog.choice is None and "cannot be used" in answers.errors[-1]
    monkeypatch.setattr(ask, "open_file", lambda _parent, _title, _folder, _filters: str(good))
    qtbot.mouseClick(dialog.other_button, Qt.MouseButton.LeftButton)
    assert dialog.choice == ("new", good)
