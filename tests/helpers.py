"""Test data shared by the core and the GUI tests (both conftest files import it)."""

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from coordinator.model import Subject

TODAY = dt.date(2026, 1, 15)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def make_subject(sid="101-001", sex="F", cbp=True, consent="2025-02-10", **facts) -> Subject:
    return Subject(id=sid, initials="ABC", sex=sex, birth_date=d("1958-04-02"), consent_date=d(consent),
                   childbearing_potential=cbp if sex == "F" else False, **facts)


PASSWORD = "correct horse battery"  # of the tests' accounts


def ok(result):
    """A command line run (``cli``) that succeeded: its standard output."""
    code, out, err = result
    assert (code, err) == (0, ""), err
    return out


def fails(result, *words):
    """A command line run that failed as bad input does: exit 2, one line on stderr with ``words``."""
    code, out, err = result
    assert code == 2
    assert err.count("\n") == 1, err  # one line
    for word in words:
        assert word in err
    return err

# The GUI tests' staff (tests/ui/conftest.py: ``staffed``, ``window_as``)
PASSWORDS = {"ada": "ada's long password", "cora": "cora's long password", "mona": "mona's long password",
             "ivan": "ivan's long password"}
STAFF = (("cora", "coordinator", "Cora Diaz"), ("mona", "monitor", "Mona Field"), ("ivan", "investigator", "Ivan Ruiz"))


def other_study_backup(folder: Path) -> Path:
    """A backup of another study, ``folder``/other-backup.db: the bundled protocol under the code
    OTHER-01, with one subject (201-001)."""
    from coordinator import protocol
    from coordinator.service import Service

    toml = folder / "other.toml"
    toml.write_text(protocol.BUNDLED.read_text(encoding="utf-8").replace('code = "SEL-LEN-MM"', 'code = "OTHER-01"', 1),
                    encoding="utf-8")
    other = Service.create(folder / "other.db", toml, user="tester", today=TODAY)
    try:
        other.add_subject(make_subject("201-001"))
        return other.backup(folder / "other-backup.db").path
    finally:
        other.close()


def calls_to(monkeypatch, owner, *names: str) -> list[tuple]:
    """Every call of these methods of ``owner`` from now on, as (name, *arguments), in order; the
    methods still do their work (a test counts reads without changing them)."""
    calls: list[tuple] = []
    for name in names:
        method = getattr(owner, name)

        def recorded(*args, _method=method, _name=name, **kwargs):
            calls.append((_name, *args, *kwargs.values()))
            return _method(*args, **kwargs)
        monkeypatch.setattr(owner, name, recorded)
    return calls


def menu_action(window, text: str):
    """The window's menu entry of that text (with its & as written)."""
    from PySide6.QtGui import QAction
    [action] = [a for a in window.findChildren(QAction) if a.text() == text]
    return action


@contextlib.contextmanager
def another_writer(db_path: Path, service=None, busy_ms: int = 100):
    """Another program holding the database's write lock for the block; ``service``, when given,
    waits only ``busy_ms`` for it before it says so."""
    other = sqlite3.connect(db_path, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    if service is not None:
        service.store.conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    try:
        yield
    finally:
        other.rollback()
        other.close()


def reopened(window) -> list:
    """The databases the window asks to open in its place (after a restore, File ▸ Open or New),
    recorded instead of opened."""
    paths: list = []
    window._open_window = lambda path, *_rest: paths.append(path)
    return paths
