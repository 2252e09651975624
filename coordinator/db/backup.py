"""Backups and restores of a coordinator database, and the check that says a file can be trusted.

A backup is taken with SQLite's online backup API, never a file copy: a copy of a WAL database's
file made while the app runs misses what is still in its -wal, or catches a page half-written.
The copy is made self-contained (one file, no -wal), checked (SQLite's integrity check and the
audit chain) and only then renamed onto its name, so a backup that exists is one that verified.

A restore copies a verified backup into the live database with the same API, so the live file
stays the same file and another connection to it sees the old data or the restored data, never a
mix. A live file that does not verify (damaged, foreign, a broken audit trail) is not overwritten
but set aside beside the database: it is what anyone looking into the damage will need.

"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from coordinator.db import chain
from coordinator.db.store import (
    BUSY_TIMEOUT_S, SIDE_FILES, Failure, check_coordinator_file, check_not_newer, failure_error, failure_kind,
    integrity_problems, remove_with_side_files, utc_now,
)
from coordinator.errors import DatabaseInUse, StoreError
from coordinator.protocol import code_of

NOTHING = "Nothing was changed."
_SQLITE_MAGIC = b"SQLite format 3\x00"

@dataclass(frozen=True)
class BackupReport:
    """What a checked backup (or a restored database) holds: what a backup log should keep."""

    path: Path
    size: int  # bytes
    subjects: int  # rows in subjects
    audit_rows: int
    audit_head: str  # chain.verify(...).head: pins the audit trail down from outside the file
    taken_at: str  # UTC, ISO, with Z: when it was written (or checked)
    set_aside: Path | None = None  # restore only: where the live file that failed its check was kept
    audit_problems: tuple[str, ...] = ()  # a backup of a database whose audit chain is broken (see write_backup)
    study: str = ""  # the code of the study it holds (its protocol's)
    last_change: str | None = None  # UTC, ISO, with Z: its audit trail's last row (None: an empty trail)

    def summary(self) -> str:
        text = (f"{self.path}: {self.subjects} subjects, {self.audit_rows} audit rows, "
                f"audit head hash {self.audit_head} ({self.taken_at}).")
        if self.set_aside:
            text += f" The file that was there did not pass its check and was kept as {self.set_aside}."
        return text


class _Blocked(Exception):
    """The online backup could not take the lock it needs (see ``_online_copy``)."""


# -- backup ------------------------------------------------------------------------------------
def write_backup(conn: sqlite3.Connection, live_path: Path, target: Path) -> BackupReport:
    """Write a checked, self-contained backup of the open database ``conn`` (at ``live_path``)
    to ``target``, replacing an older backup there. The copy is made as ``<target>.part`` and
    renamed onto ``target`` only once it verified: ``target`` is a good backup or untouched. A
    broken audit chain does not stop the backup (the copy keeps the evidence as it is): its
    problems are in the report's ``audit_problems`` for the caller to show."""
    live_path, target = Path(live_path), Path(target)
    _check_target(conn, live_path, target)
    part = target.with_name(target.name + ".part")
    remove_with_side_files(part)  # left by a crash: ours to discard
    try:
        report = _write_copy(conn, part, f"The copy of {live_path}")
        os.replace(part, target)
    except BaseException as exc:
        remove_with_side_files(part)
        head = f"The backup {target} was not written."
        if isinstance(exc, _Blocked):
            raise StoreError(f"{head} The database {live_path} is in the middle of a change. {NOTHING} "
                             "Try again in a moment.") from None
        error = _failed(exc, head, live_path, target)
        if error is None:
            raise
        raise error from exc
    _sync_folder(target.parent)
    return replace(report, path=target)


def _check_target(conn: sqlite3.Connection, live_path: Path, target: Path) -> None:
    if target.is_dir():
        raise StoreError(f"{target} is a folder: give the path of a backup file inside it, for example "
                         f"{target / (live_path.stem + '-backup.db')}. {NOTHING}")
    folder = target.parent
    if not folder.is_dir():
        raise StoreError(f"Cannot write the backup {target}: the folder {folder} does not exist. {NOTHING} "
                         "Create the folder, or choose another.")
    if is_live_file(conn, live_path, target):
        raise StoreError(f"{target} is the live database {live_path} (or one of its working files): "
                         f"a backup must go to another file. {NOTHING}")
    for suffix in ("-wal", "-journal"):
        if Path(f"{target}{suffix}").exists():
            raise StoreError(f"{target} is a database in use (it has a {suffix[1:]} file beside it): "
                             f"choose another name for the backup. {NOTHING}")
    if target.exists() and target.stat().st_size and not _is_coordinator_file(target):
        raise StoreError(f"{target} exists and is not a coordinator database: choose another name, "
                         f"so that file is not overwritten. {NOTHING}")


def is_live_file(conn: sqlite3.Connection, live_path: Path, path: Path) -> bool:
    """Whether ``path`` is the database open as ``conn`` (at ``live_path``) or one of its working
    files (-wal, -shm, -journal), however it is spelled: a file the app writes must be neither."""
    live_files = {Path(live_path), *_open_files(conn)}
    return any(_same_file(Path(path), Path(f"{live}{suffix}")) for live in live_files for suffix in ("", *SIDE_FILES))


def _open_files(conn: sqlite3.Connection) -> list[Path]:
    """The file behind ``conn``'s main database, as SQLite sees it (the caller's path may differ)."""
    return [Path(row[2]) for row in conn.execute("PRAGMA database_list") if row[1] == "main" and row[2]]


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # a hard link, or another spelling on a case-insensitive disk
    except OSError:
        return False


def _is_coordinator_file(path: Path) -> bool:
    try:
        conn = _open_read_only(path)
    except (StoreError, sqlite3.Error):
        return False
    try:
        check_coordinator_file(conn, path)
    except (StoreError, sqlite3.Error):
        return False
    else:
        return True
    finally:
        conn.close()


def _write_copy(source: sqlite3.Connection, part: Path, name: str) -> BackupReport:
    """Copy ``source`` into the new file ``part`` as one file (no -wal), on disk, checked."""
    dest = sqlite3.connect(part)
    try:
        _online_copy(source, dest)
        # The copy's header says WAL, as its source's does: back to a rollback journal, so the
        # backup is one file that can be mailed, copied or opened read-only without side files.
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()
    with open(part, "rb+") as file:
        os.fsync(file.fileno())
    return verify_file(part, name=name, strict_audit=False)


def _online_copy(source: sqlite3.Connection, dest: sqlite3.Connection) -> None:
    """Every page of ``source`` into ``dest`` in one step. Python's ``backup()`` retries for ever
    while a lock is held (after the busy timeout has run out), so a busy step ends it here."""
    def stop_when_blocked(status: int, remaining: int, total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise _Blocked

    source.backup(dest, pages=-1, progress=stop_when_blocked)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX). A file system that cannot sync a folder (some
    shares) is let be: the backup is written and renamed, only a power cut could undo that."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _failed(exc: BaseException, head: str, source: Path, target: Path, restoring: bool = False) -> StoreError | None:
    """A failed copy said plainly after ``head``; None for a failure that is a bug (re-raised)."""
    if isinstance(exc, StoreError):  # the copy failed its check
        return StoreError(f"{head} {exc} {NOTHING}")
    error = _copy_error(exc, source, target, restoring)
    return None if error is None else type(error)(f"{head} {error}")


def _copy_error(exc: BaseException, source: Path, target: Path, restoring: bool = False) -> StoreError | None:
    """A failure while copying the database at ``source`` into ``target``, said plainly; None: not
    a known one (a bug). In use or damaged is the source's: the live database, or (``restoring``)
    the backup. Full, read-only or a disk error is the target's: a backup where the user chose to
    write it, or (``restoring``) the file the restore writes."""
    if failure_kind(exc) in (Failure.IN_USE, Failure.NOT_A_DATABASE, Failure.DAMAGED):
        return failure_error(exc, source, NOTHING, live=not restoring)
    error = failure_error(exc, target, NOTHING, new_file=not restoring)
    if error is None and isinstance(exc, OSError):
        return StoreError(f"{exc.strerror or exc}. {NOTHING}")
    return error


# -- checking ----------------------------------------------------------------------------------
def verify_file(path: Path, name: str | None = None, strict_audit: bool = True) -> BackupReport:
    """Check that ``path`` is a coordinator database, whole (SQLite's integrity check) and with an
    intact audit chain; raise StoreError saying which is not so. Read-only: the file is never
    created or changed (a WAL file still in use by the app may get a -shm beside it, as any
    reader would). ``name``: how messages call the file (its path by default). ``strict_audit=False``:
    a broken audit chain is reported in ``audit_problems`` instead of refused (a backup is still
    worth having when someone tampered with the trail: it keeps the evidence as it is)."""
    path = Path(path)
    conn = _open_read_only(path, name)
    try:
        return _report(conn, path, name or str(path), strict_audit)
    finally:
        conn.close()


def _open_read_only(path: Path, name: str | None = None, busy_timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    name = name or str(path)
    if path.is_dir():
        raise StoreError(f"{name} is a folder, not a database file.")
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        raise StoreError(f"There is no file {name}.") from None
    except OSError as exc:
        raise StoreError(f"{name} cannot be read: {exc.strerror or exc}.") from exc
    if not header:
        raise StoreError(f"{name} is empty, not a coordinator database.")
    if not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{name} is not a coordinator database (it is not a database file at all).")
    uri = path.resolve().as_uri() + "?mode=ro"
    if header[18:20] == b"\x02\x02" and not Path(f"{path}-wal").exists():
        # A WAL-mode file nobody has open (no -wal): read it as it is, or read-only SQLite
        # would leave an empty -wal and -shm beside it.
        uri += "&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True, timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise _read_error(exc, path, name) from exc


def _report(conn: sqlite3.Connection, path: Path, name: str, strict_audit: bool = True) -> BackupReport:
    try:
        check_coordinator_file(conn, name)
        problems = integrity_problems(conn, 3)
        if problems:
            raise StoreError(f"{name} is damaged (SQLite's integrity check: {'; '.join(problems)}).")
        audit = chain.verify(conn)
        if not audit.ok and strict_audit:
            raise StoreError(f"{name} is a coordinator database, but its audit trail is broken: {' '.join(audit.problems)}")
        subjects = conn.execute("SELECT count(*) FROM subjects").fetchone()[0]
        text = conn.execute("SELECT value FROM meta WHERE key = 'protocol_text'").fetchone()
        last_change = conn.execute("SELECT at FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        raise _read_error(exc, path, name) from exc
    return BackupReport(path, path.stat().st_size, subjects, audit.rows, audit.head, utc_now(), audit_problems=audit.problems,
                        study=code_of(text[0]) if text else "", last_change=last_change[0] if last_change else None)


def _read_error(exc: sqlite3.Error, path: Path, name: str) -> StoreError:
    """A failure reading ``path`` (``name``: how messages call it) said plainly; a file that has a
    coordinator database's mark but not its tables or columns is damaged. Anything else is a bug."""
    text = str(exc).lower()
    kind = Failure.DAMAGED if "no such table" in text or "no such column" in text else None
    error = failure_error(exc, path, name=name, kind=kind)
    if error is None:
        raise exc
    return error


# -- restore -----------------------------------------------------------------------------------
def working_copy(backup: Path, folder: Path, study: str | None = None) -> tuple[Path, BackupReport]:
    """A checked backup copied (online backup API) into a new file in ``folder``, for a restore to
    add its own audit row to before the copy goes in place: data and row arrive in one step.
    ``study``: the code of the study it must hold (a backup of another study is refused). Returns
    the copy and the backup's report (what it holds)."""
    backup, folder = Path(backup), Path(folder)
    source = _open_read_only(backup)
    try:
        held = _restorable(source, backup, study)
        target = folder / f".{backup.stem}-restoring-{_now().strftime('%Y%m%d-%H%M%S-%f')}.db"
        try:
            report = _write_copy(source, target, f"The copy of {backup}")
        except BaseException as exc:
            remove_with_side_files(target)
            error = _failed(exc, "The backup was not restored.", backup, target, restoring=True)
            if error is None:
                raise
            raise error from exc
    finally:
        source.close()
    return report.path, held


def check_restorable(backup: Path, study: str | None = None) -> BackupReport:
    """What ``backup`` holds, checked as a restore checks it before it touches anything: a
    coordinator database, whole, its audit chain intact, not from a newer app, and (``study``)
    of that study. Read-only, for the question before a restore."""
    backup = Path(backup)
    source = _open_read_only(backup)
    try:
        return _restorable(source, backup, study)
    finally:
        source.close()


def _restorable(source: sqlite3.Connection, backup: Path, study: str | None) -> BackupReport:
    held = _report(source, backup, str(backup))
    check_study(held, study)
    _refuse_newer(source, backup)
    return held


def check_study(report: BackupReport, study: str | None) -> None:
    """Refuse a backup of another study than ``study`` (None: any study)."""
    if study is not None and report.study != study:
        held = f"study {report.study}" if report.study else "no study code"
        raise StoreError(f"{report.path.name} is a backup of {held}, not of {study}: restoring it would put "
                         f"another study's subjects in place of this one's. {NOTHING} Open it as a database of "
                         "its own instead (File ▸ Open, or --db).")


def restore(backup: Path, live_path: Path, busy_timeout: float = BUSY_TIMEOUT_S) -> BackupReport:
    """Put the verified ``backup`` in place of the database at ``live_path`` and return the
    restored database's report. Nothing is touched if the backup fails its check, or if the live
    database is busy (waits ``busy_timeout`` seconds for the lock). A live database that passes its
    own check is overwritten in place (everything written since the backup is lost: confirm first);
    one that does not is set aside as ``<name>.before-restore-<time>`` (``report.set_aside``)."""
    backup, live_path = Path(backup), Path(live_path)
    if live_path.is_dir():
        raise StoreError(f"{live_path} is a folder: give the path of the database file. {NOTHING}")
    if live_path.exists() and _same_file(backup, live_path):
        raise StoreError(f"{backup} is the live database itself: choose a backup file to restore. {NOTHING}")
    if not live_path.parent.is_dir():
        raise StoreError(f"Cannot restore to {live_path}: the folder {live_path.parent} does not exist. {NOTHING}")
    try:
        source = _open_read_only(backup, busy_timeout=busy_timeout)
    except StoreError as exc:
        raise type(exc)(f"{exc} {NOTHING}") from exc
    try:
        try:
            _report(source, backup, str(backup))  # checked on the connection the copy is read from
        except StoreError as exc:
            raise type(exc)(f"{exc} {NOTHING}") from exc
        _refuse_newer(source, backup)
        try:
            in_place = _live_passes_check(live_path, busy_timeout)
        except DatabaseInUse as exc:
            raise DatabaseInUse(f"{exc} {NOTHING}") from exc
        if in_place:
            return _restore_in_place(source, backup, live_path, busy_timeout)
        return _restore_as_new(source, backup, live_path)
    finally:
        source.close()


def _refuse_newer(conn: sqlite3.Connection, backup: Path) -> None:
    try:
        check_not_newer(conn, backup)
    except StoreError as exc:
        raise StoreError(f"{exc} {NOTHING}") from None


def _live_passes_check(live_path: Path, busy_timeout: float) -> bool:
    """False when there is no live file, or one that fails its check (damaged, foreign, broken
    audit trail); raises when it is locked by a writer (nothing to judge yet)."""
    if not live_path.exists():
        return False
    try:
        conn = _open_read_only(live_path, busy_timeout=busy_timeout)
    except DatabaseInUse:
        raise
    except StoreError:
        return False
    try:
        _report(conn, live_path, str(live_path))
    except DatabaseInUse:
        raise
    except StoreError:
        return False
    finally:
        conn.close()
    return True


def _restore_in_place(source: sqlite3.Connection, backup: Path, live_path: Path, busy_timeout: float) -> BackupReport:
    """The online backup API into the live file: one write transaction on it, so it stays the
    same file and stays a WAL database (SQLite keeps the destination's journal mode)."""
    try:
        dest = sqlite3.connect(live_path, timeout=busy_timeout)
    except sqlite3.Error as exc:
        error = failure_error(exc, live_path, NOTHING, live=True)
        if error is None:
            raise
        raise error from exc
    try:
        dest.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        try:
            _online_copy(source, dest)
        except _Blocked as exc:  # another program holds the live database's lock
            raise failure_error(exc, live_path, NOTHING, live=True, kind=Failure.IN_USE) from None
        except sqlite3.Error as exc:
            error = _failed(exc, "The backup was not restored.", backup, live_path, restoring=True)
            if error is None:
                raise
            raise error from exc
        report = _report(dest, live_path, f"The restored database {live_path}")
        dest.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the restored pages into the file itself, if no reader holds them
    finally:
        dest.close()
    return replace(report, size=live_path.stat().st_size)


def _restore_as_new(source: sqlite3.Connection, backup: Path, live_path: Path) -> BackupReport:
    """A fresh copy renamed onto ``live_path``, the file that was there (if any) set aside first."""
    part = live_path.with_name(live_path.name + ".part")
    remove_with_side_files(part)
    moved: list[tuple[Path, Path]] = []
    try:
        report = _write_copy(source, part, f"The copy of {live_path}")
        aside = _set_aside(live_path, moved) if live_path.exists() else None
        os.replace(part, live_path)
    except BaseException as exc:
        for original, kept in reversed(moved):  # put back what was set aside
            os.replace(kept, original)
        remove_with_side_files(part)
        error = _failed(exc, "The backup was not restored.", backup, live_path, restoring=True)
        if error is None:
            raise
        raise error from exc
    _sync_folder(live_path.parent)
    return replace(report, path=live_path, set_aside=aside)


def _set_aside(live_path: Path, moved: list[tuple[Path, Path]]) -> Path:
    """Rename the live file and its working files to ``<name>.before-restore-<time>``; each move is
    recorded in ``moved`` so a failure can undo them. The side files go first: a -wal or -journal
    left beside the new file would be replayed into it."""
    stamp = _now().strftime("%Y%m%d-%H%M%S")
    aside = live_path.with_name(f"{live_path.name}.before-restore-{stamp}")
    n = 2
    while any(Path(f"{aside}{suffix}").exists() for suffix in ("", *SIDE_FILES)):
        aside, n = live_path.with_name(f"{live_path.name}.before-restore-{stamp}-{n}"), n + 1
    for suffix in (*SIDE_FILES, ""):
        original, kept = Path(f"{live_path}{suffix}"), Path(f"{aside}{suffix}")
        if original.exists():
            os.replace(original, kept)
            moved.append((original, kept))
    return aside


# -- automatic backups -------------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def default_backup_folder(live_path: Path) -> Path:
    return Path(live_path).parent / "backups"


def auto_backup(conn: sqlite3.Connection, live_path: Path, folder: Path, keep: int = 20) -> BackupReport:
    """A backup named ``<live stem>-YYYYMMDD-HHMMSS.db`` (UTC) in ``folder`` (made if missing),
    then all but the newest ``keep`` of that database's automatic backups deleted."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    live_path, folder = Path(live_path), Path(folder)
    _make_folder(folder, "No backup was made")
    report = write_backup(conn, live_path, _next_name(folder, live_path.stem))
    prune(folder, live_path.stem, keep, protect=report.path)
    return report


def safety_backup(conn: sqlite3.Connection, live_path: Path, folder: Path) -> BackupReport:
    """The backup a restore makes first of what it replaces, so the restore can be undone:
    ``<live stem>-before-restore-YYYYMMDD-HHMMSS.db`` (UTC) in ``folder`` (made if missing), never
    an earlier one's name. Not an automatic backup: the rotation never deletes it."""
    live_path, folder = Path(live_path), Path(folder)
    _make_folder(folder, "Nothing was restored")
    return write_backup(conn, live_path, _next_name(folder, f"{live_path.stem}-before-restore"))


def _make_folder(folder: Path, nothing: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot make the backup folder {folder}: {exc.strerror or exc}. {nothing}; "
                         "choose another backup folder.") from exc


def _next_name(folder: Path, stem: str) -> Path:
    """``<stem>-<UTC time>.db``; a second one in the same second numbered after the highest
    number taken (not the first free one: pruning frees the lower ones, which sort older)."""
    stamp = _now().strftime("%Y%m%d-%H%M%S")
    pattern = _backup_pattern(stem)
    taken = [int(match[2] or 1) for path in folder.iterdir()
             if (match := pattern.fullmatch(path.name.removesuffix(".part"))) and match[1] == stamp]
    return folder / (f"{stem}-{stamp}-{max(taken) + 1}.db" if taken else f"{stem}-{stamp}.db")


def _backup_pattern(stem: str) -> re.Pattern:
    return re.compile(rf"{re.escape(stem)}-(\d{{8}}-\d{{6}})(?:-(\d+))?\.db")


def backups_in(folder: Path, stem: str) -> list[Path]:
    """The automatic backups of the database called ``stem`` in ``folder``, newest first (by the
    time in their names: a copied folder keeps its order, whatever the files' dates)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern, found = _backup_pattern(stem), []
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match and path.is_file():
            found.append(((match[1], int(match[2] or 1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def prune(folder: Path, stem: str, keep: int, protect: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` automatic backups of ``stem`` (never ``protect``); return
    those deleted. One that cannot be deleted (in use, no permission) stays, and is tried again
    next time."""
    deleted = []
    for path in backups_in(folder, stem)[max(keep, 0):]:
        if path == protect:  # the one just written, even if the clock went back
            continue
        try:
            path.unlink()
        except OSError:
            continue
        deleted.append(path)
    return deleted


def last_good_backup(folder: Path, stem: str) -> tuple[Path, BackupReport] | None:
    """The newest automatic backup of ``stem`` that passes its check, and its report."""
    for path in backups_in(folder, stem):
        try:
            return path, verify_file(path)
        except StoreError:
            continue
    return None
