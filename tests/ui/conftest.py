"""GUI fixtures: offscreen Qt, settings in a temporary folder, and every dialog question answered
by the test (``ask``) instead of a modal box that would wait forever."""

import os
import sys
import time

import datetime as dt

import pytest
from helpers import PASSWORDS, STAFF, TODAY, make_subject
from PySide6.QtCore import QSettings

from coordinator.service import Service
from coordinator.ui import ask
from coordinator.ui.main_window import MainWindow
from coordinator.ui.session import Session


class Answers:
    """What the GUI said to the user, and what the user answers next."""

    def __init__(self):
        self.errors: list[str] = []
        self.infos: list[str] = []
        self.texts: list[str | None] = []  # answers to ask.text / ask.reason, in order
        self.questions: list[str] = []  # asked by ask.text, ask.reason and ask.confirm
        self.confirms: list[bool] = []  # answers to ask.confirm, in order; yes once they run out
        self.abouts: list[tuple[str, str]] = []  # the About box's title and text

    def _text(self, _parent, _title, label, value=""):
        self.questions.append(label)
        assert self.texts, f"the GUI asked a question the test did not expect: {label}"
        return self.texts.pop(0)

    def _reason(self, _parent, what):
        self.questions.append(what)
        assert self.texts, f"the GUI asked for a reason the test did not expect: {what}"
        return self.texts.pop(0)

    def _confirm(self, _parent, question, yes="Yes"):
        self.questions.append(question)
        return self.confirms.pop(0) if self.confirms else True

    def _bug(self, _parent, summary, details):
        raise AssertionError(f"the GUI reported a bug: {summary}\n{details}")


@pytest.fixture(autouse=True)
def answers(monkeypatch, tmp_path, qapp):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    qapp.setOrganizationName("coordinator-tests")
    a = Answers()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # app.run installs its own: undo it after the test
    monkeypatch.setattr(ask, "error", lambda _parent, message: a.errors.append(message))
    monkeypatch.setattr(ask, "info", lambda _parent, message: a.infos.append(message))
    monkeypatch.setattr(ask, "about", lambda _parent, title, html: a.abouts.append((title, html)))
    monkeypatch.setattr(ask, "text", a._text)
    monkeypatch.setattr(ask, "reason", a._reason)
    monkeypatch.setattr(ask, "bug", a._bug)
    monkeypatch.setattr(ask, "confirm", a._confirm)
    return a


@pytest.fixture
def session(service, db_path):
    s = Session(service, db_path)
    yield s
    s.close()


@pytest.fixture
def window(session, qtbot):
    w = MainWindow(session)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.due_view.loading)
    return w


@pytest.fixture
def paris():
    """The workstation's clock in Paris (CET, CEST in summer): local times are fixed strings."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def staffed(service):
    """The test database with a subject on treatment and four accounts; ``service`` is then the admin's."""
    service.add_subject(make_subject("101-050", c1d1=TODAY - dt.timedelta(days=7)))
    service.add_account("ada", "admin", PASSWORDS["ada"], "Ada Admin")
    for name, role, display_name in STAFF:
        service.add_account(name, role, PASSWORDS[name], display_name)
    return service


@pytest.fixture
def window_as(db_path, qtbot):
    """``window_as(name)``: a main window of that account (logged in), its dashboard loaded."""
    def open_as(name: str) -> MainWindow:
        service = Service.open(db_path, today=TODAY)
        service.log_in(name, PASSWORDS[name])
        window = MainWindow(Session(service, db_path))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: not window.due_view.loading)
        return window
    return open_as
