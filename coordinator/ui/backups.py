"""Backups from the window: the automatic ones (every hour while the window is open and when it
closes, on the worker thread, skipped when nothing changed), "Back up now", "Restore from a
backup", and, when a database cannot be opened, the offer of its last good backup.

Signals:
    backed_up(str): a line for the status bar after each automatic backup (or its failure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from coordinator import service as service_mod
from coordinator.errors import CoordinatorError
from coordinator.ui import ask, settings
from coordinator.ui.session import Session
from coordinator.ui.times import local_time

AUTO_BACKUP_MINUTES = 60


def backup_folder(path: Path) -> Path:
    """'backups' beside the database; or, in the folder chosen in the Preferences (which several
    databases may share), a folder of this database's own, named after it and its place: one
    study's rotation never deletes another's backups, nor is another's offered to restore it."""
    chosen = settings.BACKUP_FOLDER.get().strip()
    if not chosen:
        return service_mod.default_backup_folder(path)
    import hashlib  # only for a chosen folder: a faster start
    place = hashlib.sha256(str(Path(path).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return Path(chosen).expanduser() / f"{Path(path).stem}-{place}"


def offer_last_good_backup(parent: QWidget | None, path: Path, problem: str, user: str | None) -> bool:
    """The database cannot be opened (damaged, or not ours): say so, and offer to put its last good
    automatic backup in its place (the unusable file is kept beside it). True when restored."""
    folder = backup_folder(path)
    found = service_mod.last_good_backup(path, folder)
    if found is None:
        ask.error(parent, f"The database cannot be opened.\n\n{problem}\n\nNo good backup of it was found in {folder}.")
        return False
    backup, report = found
    question = (f"The database cannot be opened.\n\n{problem}\n\nThe last good backup is {backup.name} "
                f"({report.subjects} subjects, checked {local_time(report.taken_at, seconds=False)}), in {folder}.\n\n"
                f"Put it in place of {path.name}? The unusable file is kept beside it, renamed; whatever was "
                "recorded after the backup will have to be entered again.")
    if not ask.confirm(parent, question, "Restore the backup"):
        return False
    def log_in(service) -> bool:  # the backup's accounts decide who may restore it
        from coordinator.ui import log_in_dialog
        return log_in_dialog.log_in(service, user or "", path) is not None
    try:
        service_mod.restore_damaged(path, backup, user, log_in)
    except CoordinatorError as exc:
        ask.error(parent, f"The backup could not be restored.\n\n{exc}")
        return False
    return True


class BackupKeeper(QObject):
    backed_up = Signal(str)

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._timer = QTimer(self)
        self._timer.setInterval(AUTO_BACKUP_MINUTES * 60 * 1000)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    @property
    def folder(self) -> Path:
        return backup_folder(self.session.path)

    def _on_timer_timeout(self) -> None:
        self.back_up_in_background()

    def back_up_in_background(self) -> None:
        """An automatic backup on the worker thread; its outcome goes to the status bar."""
        folder = self.folder
        self.session.run_in_background(self, lambda service: service.auto_backup(folder),
                                       self._on_auto_done, self._on_auto_failed)

    def _on_auto_done(self, report) -> None:
        if report is not None:
            self.backed_up.emit(f"Backed up automatically to {report.path.name} ({report.path.parent}).")

    def _on_auto_failed(self, exc: Exception) -> None:
        self.backed_up.emit(f"▲ The automatic backup failed: {exc}")

    def back_up_on_close(self, parent: QWidget | None) -> None:
        """The last automatic backup, as the window closes (on this thread: the window is going).
        Once only: a window can be told to close twice."""
        if not self._timer.isActive() or self.session.closed:
            return
        self._timer.stop()
        try:
            self.session.service.auto_backup(self.folder)
        except CoordinatorError as exc:
            ask.error(parent, f"The automatic backup failed as the window closed.\n\n{exc}\n\n"
                              "Nothing recorded is lost (it is in the database); choose another backup folder "
                              "in the Preferences if this one cannot be written.")

    def back_up_now(self, parent: QWidget | None) -> None:
        """A backup to a file the user chooses, then what it holds, or why it failed."""
        stamp = dt.date.today().strftime("%Y%m%d")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)  # so the file dialog opens there
        except OSError:
            pass  # the dialog opens elsewhere; the user picks a folder
        suggested = self.folder / f"{self.session.path.stem}-backup-{stamp}.db"
        name = ask.save_file(parent, "Back up the study database", str(suggested), "Coordinator databases (*.db)")
        if not name:
            return
        self.session.run_in_background(self, lambda service: service.backup(Path(name)),
                                       lambda report: self._said(parent, report),
                                       lambda exc: ask.failure(parent, "The backup", exc))

    def _said(self, parent: QWidget | None, report) -> None:
        if report.audit_problems:
            ask.error(parent, f"Backed up to {report.path}, integrity checked. But the audit trail is broken, in the "
                              f"database and so in its backup:\n\n{' '.join(report.audit_problems)}")
            return
        ask.info(parent, f"Backed up to {report.path}: {report.subjects} subjects, {report.audit_rows} audit rows, "
                         f"checked (integrity and audit chain).\n\nAudit head hash: {report.audit_head}")

    def restore(self, parent: QWidget | None, restored: Callable[[], None]) -> None:
        """Replace the study's content with a backup the user chooses: the backup checked (a bad
        one, or another study's, is refused), then what it holds and what will be lost said, then
        the restore (the current content is backed up first). The two slow steps run on the worker
        thread behind a busy window: a large study takes a while to check, copy and put in place.
        ``restored()`` once it is in place (the window then reopens: the restored database may
        have other accounts)."""
        name = ask.open_file(parent, "Restore from a backup", str(self.folder), "Coordinator databases (*.db)")
        if name:
            backup = Path(name)
            self._while_busy(parent, "Checking the backup…", lambda service: service.check_backup(backup),
                             lambda held: self._confirm_restore(parent, backup, held, restored))

    def _confirm_restore(self, parent: QWidget | None, backup: Path, held, restored: Callable[[], None]) -> None:
        last = f", its last change on {local_time(held.last_change, seconds=False)}" if held.last_change else ""
        question = (f"Replace everything in {self.session.path.name} with the backup {backup.name}?\n\n"
                    f"The backup holds study {held.study}: {held.subjects} subjects{last}. The study has "
                    f"{len(self.session.service.initials())} subjects now.\n\n"
                    "Whatever was recorded after that backup was taken will no longer be in the study. The current "
                    f"content is backed up first, into {self.folder}, so this can be undone.")
        if not ask.confirm(parent, question, "Restore"):
            return
        folder = self.folder

        def done(_report) -> None:
            ask.info(parent, f"Restored from {backup.name}. The window opens again on the restored study.")
            restored()
        self._timer.stop()  # no automatic backup while the content is replaced
        self._while_busy(parent, "Restoring: the current content is backed up first…",
                         lambda service: service.restore(backup, folder), done, self._timer.start)

    def _while_busy(self, parent: QWidget | None, label: str, work, done, failed_too=None) -> None:
        """``work(service)`` on the worker thread, the window held by a busy window (no other change
        can start meanwhile); ``done(result)`` after, or the failure said."""
        progress = ask.busy(parent, label)

        def failed(exc: Exception) -> None:
            progress.close()
            if failed_too is not None:
                failed_too()
            ask.failure(parent, "Nothing was restored.", exc)
        self.session.run_in_background(self, work, lambda result: (progress.close(), done(result)), failed)
