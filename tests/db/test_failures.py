"""SQLite and disk failures in a coordinator's words: one classification (store.failure_kind) and
one wording (store.failure_error) for the live database, the backups read and the backups written."""

import errno
import os
import sqlite3

import pytest
from helpers import TODAY, d, make_subject

from coordinator.db import backup, store
from coordinator.db.store import Failure, failure_kind
from coordinator.errors import DamagedDatabase, DatabaseInUse, StoreError
from coordinator.service import Service


def sqlite_error(code, text, kind=sqlite3.OperationalError):
    """The error SQLite would raise (Python's sqlite3 names its result code in sqlite_errorname)."""
    exc = kind(text)
    exc.sqlite_errorname = code
    return exc


@pytest.mark.parametrize("code, text, kind", [
    ("SQLITE_BUSY", "database is locked", Failure.IN_USE),
    ("SQLITE_BUSY_SNAPSHOT", "database is locked", Failure.IN_USE),
    ("SQLITE_LOCKED_SHAREDCACHE", "database table is locked", Failure.IN_USE),
    ("SQLITE_FULL", "database or disk is full", Failure.DISK_FULL),
    ("SQLITE_READONLY_DBMOVED", "attempt to write a readonly database", Failure.READ_ONLY),
    ("SQLITE_PERM", "access permission denied", Failure.READ_ONLY),
    ("SQLITE_NOTADB", "file is not a database", Failure.NOT_A_DATABASE),
    ("SQLITE_CORRUPT_INDEX", "database disk image is malformed", Failure.DAMAGED),
    ("SQLITE_CANTOPEN_ISDIR", "unable to open database file", Failure.CANNOT_OPEN),
    ("SQLITE_IOERR_FSYNC", "disk I/O error", Failure.DISK_ERROR),
    # SQLite's code decides, not the words: a trigger's message that says 'locked' is no busy database
    ("SQLITE_CONSTRAINT_TRIGGER", "audit rows are locked", None),
    ("SQLITE_ERROR", "no such table: visits", None),
])
def test_sqlite_result_codes_and_their_extended_codes(code, text, kind):
    assert failure_kind(sqlite_error(code, text)) is kind


@pytest.mark.parametrize("text, kind", [
    ("database is locked", Failure.IN_USE), ("database or disk is full", Failure.DISK_FULL),
    ("attempt to write a readonly database", Failure.READ_ONLY), ("file is not a database", Failure.NOT_A_DATABASE),
    ("database disk image is malformed", Failure.DAMAGED), ("unable to open database file", Failure.CANNOT_OPEN),
    ("disk I/O error", Failure.DISK_ERROR), ("near \"SELEC\": syntax error", None),
])
def test_an_error_without_a_code_is_known_by_sqlites_words(text, kind):
    assert failure_kind(sqlite3.OperationalError(text)) is kind


@pytest.mark.parametrize("number, kind", [
    (errno.ENOSPC, Failure.DISK_FULL), (errno.EACCES, Failure.READ_ONLY), (errno.EPERM, Failure.READ_ONLY),
    (errno.EROFS, Failure.READ_ONLY), (errno.EIO, Failure.DISK_ERROR), (errno.ENAMETOOLONG, None),
])
def test_the_systems_errors_writing_a_file(number, kind):
    assert failure_kind(OSError(number, os.strerror(number))) is kind


def test_other_exceptions_are_bugs():
    assert failure_kind(ValueError("database is locked")) is None
    assert failure_kind(sqlite3.ProgrammingError("Cannot operate on a closed database.")) is None


# -- the live database -----------------------------------------------------------------------------
def failing_save(monkeypatch, exc):
    """Every save's audit row fails with ``exc``, part-way through the save's transaction."""
    def fail(*args, **kwargs):
        raise exc
    monkeypatch.setattr(store.Transaction, "audit", fail)


def test_a_disk_error_while_saving(enrolled, db_path, monkeypatch):
    failing_save(monkeypatch, sqlite_error("SQLITE_IOERR_WRITE", "disk I/O error"))
    with pytest.raises(StoreError, match=rf"^The disk holding {db_path} reported an error\. Nothing was saved\. "
                                         r"Check the drive and try again\.$"):
        enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))
    monkeypatch.undo()
    assert "C1D8" not in enrolled.subject("101-001").visits


def test_a_database_that_cannot_be_opened_while_saving(enrolled, db_path, monkeypatch):
    failing_save(monkeypatch, sqlite_error("SQLITE_CANTOPEN", "unable to open database file"))
    with pytest.raises(StoreError, match=rf"^The database {db_path} cannot be opened \(SQLite says: unable to open "
                                         r"database file\): check the permissions .* Nothing was saved\.$"):
        enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))


def test_a_damaged_database_while_saving_is_restored_from_a_backup(enrolled, db_path, monkeypatch):
    failing_save(monkeypatch, sqlite_error("SQLITE_CORRUPT", "database disk image is malformed", sqlite3.DatabaseError))
    with pytest.raises(DamagedDatabase, match=rf"^The database {db_path} is damaged \(SQLite says: database disk image "
                                              r"is malformed\)\. Nothing was saved\. Restore it from a backup\.$"):
        enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))


def test_a_bug_is_not_dressed_up_as_a_busy_database(enrolled, monkeypatch):
    """A trigger's refusal that happens to say 'locked' is SQLite's constraint error, shown as it is."""
    bug = sqlite_error("SQLITE_CONSTRAINT_TRIGGER", "audit rows are locked", sqlite3.IntegrityError)
    failing_save(monkeypatch, bug)
    with pytest.raises(sqlite3.IntegrityError) as raised:
        enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))
    assert raised.value is bug


# -- backups read and written ------------------------------------------------------------------
@pytest.fixture
def good_backup(enrolled, db_path, tmp_path):
    return backup.write_backup(enrolled.store.conn, db_path, tmp_path / "good.db").path


def test_a_backup_another_program_is_writing_is_in_use_and_nothing_is_restored(enrolled, db_path, good_backup):
    enrolled.add_subject(make_subject("101-002"))
    writer = sqlite3.connect(good_backup, isolation_level=None)  # a backup is one file, with a rollback journal
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseInUse) as raised:
            backup.restore(good_backup, db_path, busy_timeout=0.1)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert str(raised.value) == (f"{good_backup} is in use by another program or window that is writing to it. "
                                 "Try again in a moment, or close the other program. Nothing was changed.")
    assert enrolled.store.subject_ids() == ["101-001", "101-002"]


def test_a_disk_error_while_checking_a_backup(good_backup, monkeypatch):
    def unreadable(conn, limit):
        raise sqlite_error("SQLITE_IOERR_READ", "disk I/O error")
    monkeypatch.setattr(backup, "integrity_problems", unreadable)
    with pytest.raises(StoreError, match=rf"^The disk holding {good_backup} reported an error\. Check the drive and try "
                                         r"again\.$"):
        backup.verify_file(good_backup)


def test_a_damaged_live_database_found_while_backing_up(enrolled, db_path, tmp_path, monkeypatch):
    def damaged(source, dest):
        raise sqlite_error("SQLITE_CORRUPT", "database disk image is malformed", sqlite3.DatabaseError)
    monkeypatch.setattr(backup, "_online_copy", damaged)
    target = tmp_path / "copy.db"
    with pytest.raises(DamagedDatabase, match=rf"^The backup {target} was not written\. The database {db_path} is "
                                              r"damaged \(SQLite says: .*\)\. Nothing was changed\. Restore it from a backup\.$"):
        backup.write_backup(enrolled.store.conn, db_path, target)
    assert not list(tmp_path.glob("copy*"))


@pytest.mark.parametrize("number, words", [
    (errno.EROFS, "The folder {folder} cannot be written (a read-only disk or folder, or no permission). Nothing was "
                  "changed. Choose another folder."),
    (errno.EACCES, "The folder {folder} cannot be written (a read-only disk or folder, or no permission). Nothing was "
                   "changed. Choose another folder."),
    (errno.ENAMETOOLONG, "File name too long. Nothing was changed."),
])
def test_the_systems_refusals_while_writing_a_backup(enrolled, db_path, tmp_path, monkeypatch, number, words):
    def refused(fd):
        raise OSError(number, os.strerror(number))
    monkeypatch.setattr(backup.os, "fsync", refused)
    target = tmp_path / "copy.db"
    with pytest.raises(StoreError) as raised:
        backup.write_backup(enrolled.store.conn, db_path, target)
    assert str(raised.value) == f"The backup {target} was not written. " + words.format(folder=tmp_path)
    assert not list(tmp_path.glob("copy*"))


def test_a_full_disk_while_making_the_restores_working_copy(enrolled, db_path, good_backup, tmp_path, monkeypatch):
    """The working copy is the restore's first write, beside the database: the disk fills up."""
    enrolled.add_subject(make_subject("101-002"))
    audit_before = enrolled.audit()

    def full(source, dest):
        raise sqlite_error("SQLITE_FULL", "database or disk is full")
    monkeypatch.setattr(backup, "_online_copy", full)
    with pytest.raises(StoreError, match=rf"^The backup was not restored\. The disk holding {tmp_path}/\.good-restoring-"
                                         r"[-\d]+\.db is full\. Nothing was changed\. Free some space and try again\.$"):
        enrolled.restore(good_backup, safety_folder=tmp_path / "safety")
    assert enrolled.store.subject_ids() == ["101-001", "101-002"] and enrolled.audit() == audit_before
    assert not list(tmp_path.glob(".good-restoring-*"))


def test_a_read_only_live_database_is_not_restored_in_place(enrolled, db_path, good_backup, monkeypatch):
    """The restore writes the live file where it is: no other folder to choose."""
    enrolled.add_subject(make_subject("101-002"))

    def read_only(source, dest):
        raise sqlite_error("SQLITE_READONLY", "attempt to write a readonly database")
    monkeypatch.setattr(backup, "_online_copy", read_only)
    with pytest.raises(StoreError) as raised:
        backup.restore(good_backup, db_path)
    assert str(raised.value) == (f"The backup was not restored. {db_path} is read-only (check the permissions of the "
                                 "file and of its folder). Nothing was changed.")
    monkeypatch.undo()
    assert Service.open(db_path, user="tester", today=TODAY).store.subject_ids() == ["101-001", "101-002"]
