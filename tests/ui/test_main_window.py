"""The main window's File menu: export and import subjects, open and make a study database, each
file chosen through ``ask``."""

import datetime as dt
import json

import PySide6
from PySide6.QtCore import qVersion

from helpers import TODAY, make_subject, menu_action, reopened

import coordinator
from coordinator.ui import ask
from coordinator.ui.main_window import MainWindow
from coordinator.ui.session import Session
from coordinator.service import Service


def test_subjects_go_out_and_come_into_another_study(window, session, tmp_path, monkeypatch, answers, qtbot):
    session.service.add_subject(make_subject("101-050", c1d1=TODAY))
    target = tmp_path / "out.json"
    monkeypatch.setattr(ask, "save_file", lambda _parent, _title, suggested, _filters: str(tmp_path / "out.json")
                        if suggested == "subjects.json" else None)
    window.export_action.trigger()  # on the worker thread: 10,000 subjects take most of a minute
    qtbot.waitUntil(lambda: bool(answers.infos))
    assert answers.infos[-1] == f"Exported 1 subjects to {target}."
    assert window.service.audit()[-1].action == "export"
    # a path that cannot be written: said, and nothing exported
    monkeypatch.setattr(ask, "save_file", lambda *_args: str(tmp_path / "no such folder" / "out.json"))
    window.export_action.trigger()
    qtbot.waitUntil(lambda: bool(answers.errors))
    assert answers.errors[-1].startswith("The export failed: nothing was exported.\n\nCannot write ")
    answers.errors.clear()
    assert [s["id"] for s in json.loads(target.read_text(encoding="utf-8"))["subjects"]] == ["101-050"]
    # the same file into this study again: refused whole, with the reason
    monkeypatch.setattr(ask, "open_file", lambda _parent, _title, _folder, _filters: str(target))
    window.import_action.trigger()
    qtbot.waitUntil(lambda: bool(answers.errors))
    assert answers.errors[-1].startswith("The import failed: nothing was imported.\n\n")
    # into a new study: there it is
    other_path = tmp_path / "other.db"
    Service.create(other_path, user="tester", today=TODAY).close()
    other = Session(Service.open(other_path, user="tester", today=TODAY), other_path)
    try:
        again = MainWindow(other)
        qtbot.addWidget(again)
        again.import_action.trigger()
        qtbot.waitUntil(lambda: answers.infos[-1] == "Imported 1 subjects.")
        assert other.service.subject("101-050").c1d1 == TODAY
    finally:
        other.close()


def test_a_new_study_database_is_never_made_over_an_existing_file(window, session, monkeypatch, answers, tmp_path):
    opened = reopened(window)
    monkeypatch.setattr(ask, "save_file", lambda _parent, _title, suggested, _filters: suggested)
    menu_action(window, "&New study database…").trigger()  # suggests study.db beside this one: this one
    assert answers.errors[-1] == f"{session.path} already exists; choose a new file name."
    assert opened == []
    monkeypatch.setattr(ask, "open_file", lambda _parent, _title, _folder, _filters: None)
    menu_action(window, "&Open database…").trigger()  # cancelled: nothing opens
    assert opened == [] and window.isVisible()
    monkeypatch.setattr(ask, "save_file", lambda *_args: str(tmp_path / "new.db"))
    menu_action(window, "&New study database…").trigger()  # a new name: made and opened in a new window
    assert opened == [tmp_path / "new.db"] and len(answers.errors) == 1


def test_the_about_box_names_the_versions_a_bug_report_needs(window, session, answers):
    menu_action(window, "&About Coordinator").trigger()
    [(title, html)] = answers.abouts
    assert title == "About Coordinator"
    assert f"Coordinator {coordinator.__version__}" in html
    assert f"Qt {qVersion()}" in html and f"PySide6 {PySide6.__version__}" in html
    assert f"Study {session.service.protocol.code}" in html and str(session.path) in html


def test_midnight_moves_today_and_the_today_button_follows(window, session):
    assert not window.today_button.isEnabled()
    session.check_clock(TODAY + dt.timedelta(days=1))  # looking at today: the day looked at moves with it
    assert window.day_edit.value() == TODAY + dt.timedelta(days=1) and not window.today_button.isEnabled()
    session.set_day(TODAY + dt.timedelta(days=2))
    assert window.today_button.isEnabled()
    session.check_clock(TODAY + dt.timedelta(days=2))  # looking at tomorrow when midnight comes: it is today now
    assert window.day_edit.value() == TODAY + dt.timedelta(days=2) and not window.today_button.isEnabled()
    session.set_day(TODAY)
    session.check_clock(TODAY + dt.timedelta(days=3))  # looking back: the day stays, Today goes to the new day
    assert window.day_edit.value() == TODAY and window.today_button.isEnabled()
    assert window.status_db.text() == f"{session.path.name}  ·  {session.path.parent}"


