"""Starting the app: the command line opens the window, or says plainly why it cannot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

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


def test_a_new_study_database_is_created_off_the_gui_thread(tmp_path, answers):
    db = tmp_path / "new.db"
    assert app_mod.prepare_database(db, None, "new", None)
    service = Service.open(db)
    assert service.store.subject_ids() == [] and service.protocol.code == "SEL-LEN-MM"
    service.close()
    assert not app_mod.prepare_database(tmp_path / "other.db", None, "new", tmp_path / "missing.toml")
    assert "cannot be opened" in answers.errors[0] and not (tmp_path / "other.db").exists()


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
