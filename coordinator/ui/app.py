"""Starting the desktop app: the first-run choice, opening the database (what takes long off the GUI thread), the window.

The command line calls ``run`` (imported only then, so the CLI itself never
loads Qt). Anything unexpected reaches ``_excepthook``: a known problem shows as
a plain message, anything else as a bug report, never as a bare traceback.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from coordinator import __version__
from coordinator.accounts import Account
from coordinator.errors import CoordinatorError, DamagedDatabase
from coordinator.service import Service
from coordinator.ui import ask, settings
from coordinator.ui.main_window import MainWindow
from coordinator.ui.session import Session


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(settings.ORGANIZATION)
    app.setApplicationName(settings.APPLICATION)
    app.setApplicationDisplayName("Coordinator")
    app.setApplicationVersion(__version__)
    return app


def run(path: Path, user: str | None = None, first_run: str = "ask", smoke: bool = False) -> int:
    """Open the window on ``path``. ``first_run``: what to do when there is no database there yet
    ("ask", or "demo"). ``smoke``: quit as soon as the window is up (start-up checks and timing);
    where the database has accounts, nobody is there to type a password, so the log-in is taken from
    $COORDINATOR_USER (or ``user``) and $COORDINATOR_PASSWORD, as the command line takes it."""
    app = application()
    sys.excepthook = _excepthook
    ask.UNATTENDED = smoke
    path = Path(path)
    create, protocol_file = None, None
    if not path.exists():
        if first_run == "demo":
            choice = ("demo", None)
        else:
            from coordinator.ui.first_run_dialog import FirstRunDialog
            choice = FirstRunDialog.choose(path)
        if choice is None:
            return 0
        create, protocol_file = choice
    window = open_window(path, user, create, protocol_file)
    if window is None:
        return 2
    if smoke:
        QTimer.singleShot(0, lambda: (print(f"coordinator: window up: {window.windowTitle()}"), app.quit()))
    return app.exec()


def open_window(path: Path, user: str | None = None, create: str | None = None,
                protocol_file: Path | None = None) -> MainWindow | None:
    """A main window on ``path`` (``open_database``: made first when ``create`` says so). Where the
    database has accounts, the log-in comes first; None when it cannot be opened or the user quits
    the log-in."""
    service = open_database(path, user, create, protocol_file)
    if service is None:
        return None
    if service.needs_log_in() and _log_in(service, user, path) is None:
        service.close()
        return None
    window = MainWindow(Session(service, path), open_window)
    window.show()
    return window


def _log_in(service: Service, user: str | None, path: Path) -> Account | None:
    """The log-in dialog, its user name filled in from ``user`` or $COORDINATOR_USER; unattended
    (``--smoke``), that name and $COORDINATOR_PASSWORD, any refusal said on stderr."""
    name = user or os.environ.get("COORDINATOR_USER", "")
    if not ask.UNATTENDED:
        from coordinator.ui import log_in_dialog  # only databases with accounts need it: a faster start
        return log_in_dialog.log_in(service, name, path)
    password = os.environ.get("COORDINATOR_PASSWORD")
    if not name or password is None:
        print("coordinator: this database has accounts and nobody is here to log in: set COORDINATOR_USER "
              "(or --user) and COORDINATOR_PASSWORD.", file=sys.stderr)
        return None
    try:
        return service.log_in(name, password)
    except CoordinatorError as exc:
        print(f"coordinator: cannot log in: {exc}", file=sys.stderr)
        return None


def open_database(path: Path, user: str | None, create: str | None = None,
                  protocol_file: Path | None = None) -> Service | None:
    """The service on ``path``, opened on the GUI thread, or None when it cannot be opened (the
    user is told why; a damaged file is offered its last good backup). ``create``: "demo" or "new"
    (with ``protocol_file``, else the bundled study) makes it first.

    Most opens are quick and happen at once. What can take long runs first on a worker thread,
    so that a large database never freezes the window: making the database (the demo's subjects),
    migrating its schema, rebuilding every cached plan after the schedule rules changed. A
    busy window shows once that has taken ``ask.BUSY_AFTER_MS``."""
    service, problem = None, None
    if create is None:
        service, problem = _attempt(lambda: Service.open_if_quick(path, user=user))
    if service is None and problem is None:
        _, problem = _in_background(f"Opening {path.name}…", lambda: _prepare(path, user, create, protocol_file))
        if problem is None:
            service, problem = _attempt(lambda: Service.open(path, user=user))
    if problem is None:
        return service
    if isinstance(problem, DamagedDatabase):  # its last good backup is offered; restored, it is opened again
        from coordinator.ui.backups import offer_last_good_backup
        return open_database(path, user) if offer_last_good_backup(None, path, str(problem), user) else None
    ask.failure(None, "The database cannot be opened.", problem)
    return None


def _prepare(path: Path, user: str | None, create: str | None, protocol_file: Path | None) -> None:
    """The slow part of opening (on a worker thread): make the database, or open it once, which
    migrates it and rebuilds its plans as needed; then close it."""
    if create is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CoordinatorError(f"Cannot create the folder {path.parent}: {exc.strerror or exc}.") from None
    if create == "demo":
        from coordinator import demo
        service = demo.create(path, user)
    elif create == "new":
        service = Service.create(path, protocol_file, user=user)
    else:
        service = Service.open(path, user=user)
    service.close()


def _attempt(work):
    """(what ``work()`` returned, None), or (None, the exception it raised): a problem the user can
    act on (a ``CoordinatorError``; the file or its folder out of reach is one), or a bug."""
    try:
        return work(), None
    except OSError as exc:  # permissions, a drive gone
        return None, CoordinatorError(str(exc))
    except Exception as exc:
        return None, exc


def _in_background(label: str, work):
    """``_attempt(work)`` on a worker thread while the GUI thread handles events, behind a busy
    window (``ask.busy``)."""
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_attempt(work)), name="open-database", daemon=True)
    progress = ask.busy(None, label)
    thread.start()
    while thread.is_alive():
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        thread.join(0.002)  # a small database is made in a few ms: do not sleep longer than that
    progress.close()
    return outcome[0]


def _excepthook(kind, value, tb) -> None:
    if isinstance(value, CoordinatorError):
        ask.error(QApplication.activeWindow(), str(value))
        return
    details = "".join(traceback.format_exception(kind, value, tb))
    print(details, file=sys.stderr)
    ask.bug(QApplication.activeWindow(), f"{kind.__name__}: {value}", details)
