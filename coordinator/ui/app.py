"""Starting the desktop app: the first-run choice, opening the database off the GUI thread, the window.

The command line calls ``run`` (imported only then, so the CLI itself never
loads Qt). Anything unexpected reaches ``_excepthook``: a known problem shows as
a plain message, anything else as a bug report, never as a bare traceback.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QProgressDialog

from coordinator import __version__
from coordinator.accounts import Account
from coordinator.errors import CoordinatorError, DamagedDatabase
from coordinator.service import Service
from coordinator.ui import ask, settings
from coordinator.ui.main_window import MainWindow
from coordinator.ui.session import Session

PROGRESS_AFTER_MS = 400  # shorter work shows no progress window at all


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
    if not path.exists():
        if first_run == "demo":
            choice = ("demo", None)
        else:
            from coordinator.ui.first_run_dialog import FirstRunDialog
            choice = FirstRunDialog.choose(path)
        if choice is None:
            return 0
        kind, protocol_file = choice
        if not prepare_database(path, user, kind, protocol_file):
            return 2
    elif not prepare_database(path, user, None, None):
        return 2
    window = open_window(path, user)
    if window is None:
        return 2
    if smoke:
        QTimer.singleShot(0, lambda: (print(f"coordinator: window up: {window.windowTitle()}"), app.quit()))
    return app.exec()


def open_window(path: Path, user: str | None = None) -> MainWindow | None:
    """A main window on ``path``; the database was prepared (migrated, plans rebuilt) already.
    Where it has accounts, the log-in comes first; None when the user quits it."""
    try:
        service = Service.open(path, user=user)
    except CoordinatorError as exc:
        ask.error(None, f"The database cannot be opened.\n\n{exc}")
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


def prepare_database(path: Path, user: str | None, create: str | None, protocol_file: Path | None) -> bool:
    """Create (demo or new study) or open the database once on a worker thread, so that the
    migrations and any plan rebuild of a large database never freeze the window."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            if create is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            if create == "demo":
                from coordinator import demo
                service = Service.create(path, user=user)
                try:
                    service.import_subjects(demo.demo_subjects(service.protocol, service.today), source="demo")
                except BaseException:
                    service.store.discard()
                    raise
            elif create == "new":
                service = Service.create(path, protocol_file, user=user)
            else:
                service = Service.open(path, user=user)
            service.close()
        except DamagedDatabase as exc:
            outcome["damaged"] = str(exc)
        except CoordinatorError as exc:
            outcome["error"] = str(exc)
        except OSError as exc:
            outcome["error"] = f"Cannot create the folder {path.parent}: {exc.strerror or exc}."
        except Exception:  # a bug: shown as one, on the GUI thread
            outcome["bug"] = traceback.format_exc()

    thread = threading.Thread(target=work, name="open-database", daemon=True)
    thread.start()
    progress = QProgressDialog(f"Opening {path.name}…", "", 0, 0)
    progress.setCancelButton(None)
    progress.setWindowModality(Qt.WindowModality.ApplicationModal)
    progress.setMinimumDuration(PROGRESS_AFTER_MS)
    started = time.monotonic()
    while thread.is_alive():
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        thread.join(0.002)  # a small database opens in a few ms: do not sleep longer than that
        if time.monotonic() - started > PROGRESS_AFTER_MS / 1000:
            progress.setValue(0)  # keeps the busy bar moving
    progress.close()
    if "damaged" in outcome:  # its last good backup is offered; restored, it is opened again
        from coordinator.ui.backups import offer_last_good_backup
        if offer_last_good_backup(None, path, str(outcome["damaged"]), user):
            return prepare_database(path, user, None, None)
        return False
    if "error" in outcome:
        ask.error(None, f"The database cannot be opened.\n\n{outcome['error']}")
        return False
    if "bug" in outcome:
        ask.bug(None, "Opening the database failed.", str(outcome["bug"]))
        return False
    return True


def _excepthook(kind, value, tb) -> None:
    if isinstance(value, CoordinatorError):
        ask.error(QApplication.activeWindow(), str(value))
        return
    details = "".join(traceback.format_exception(kind, value, tb))
    print(details, file=sys.stderr)
    ask.bug(QApplication.activeWindow(), f"{kind.__name__}: {value}", details)
