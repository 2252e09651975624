"""Backups through SQLite's online backup API, verified; restores; rotating automatic backups."""

import datetime as dt
import errno
import os
import sqlite3
import time

import pytest
from helpers import TODAY, another_writer, d, make_subject, other_study_backup

from coordinator.db import backup
from coordinator.db.store import Store
from coordinator.errors import StoreError
from coordinator.service import Service


@pytest.fixture
def study(enrolled):
    """101-001 enrolled, 101-002 in screening."""
    enrolled.add_subject(make_subject("101-002"))
    return enrolled


def side_files(path):
    return [s for s in ("-wal", "-shm", "-journal") if os.path.exists(f"{path}{s}")]


def state(service):
    """What a coordinator would compare: the subjects, the audit trail and its head hash."""
    return [s.id for s in service.subjects()], service.audit(), service.verify_audit().head


def tamper(path, sql="UPDATE audit SET new = 'someone else' WHERE seq = 2"):
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute(sql)
    conn.commit()
    conn.close()


def test_a_backup_holds_the_same_study_in_one_file(study, db_path, tmp_path):
    target = tmp_path / "copy.db"
    report = backup.write_backup(study.store.conn, db_path, target)
    assert (report.path, report.size) == (target, target.stat().st_size)
    assert (report.subjects, report.audit_rows) == (2, len(study.audit()))
    assert report.audit_head == study.verify_audit().head
    assert report.taken_at.endswith("Z") and report.taken_at[:4] >= "2025"
    assert side_files(target) == [] and not (tmp_path / "copy.db.part").exists()
    raw = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # self-contained: no -wal needed
    raw.close()
    copy = Service.open(target, user="tester", today=TODAY)
    assert state(copy) == state(study)
    assert copy.subject("101-001") == study.subject("101-001")
    copy.close()


def test_a_backup_includes_the_last_write_while_another_connection_reads(study, db_path, tmp_path):
    reader = sqlite3.connect(db_path)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM subjects").fetchone()[0] == 2  # holds its snapshot
    study.add_subject(make_subject("101-003"))  # committed to the -wal, not yet into the file
    assert os.path.getsize(f"{db_path}-wal") > 0
    report = backup.write_backup(study.store.conn, db_path, tmp_path / "copy.db")
    assert reader.execute("SELECT count(*) FROM subjects").fetchone()[0] == 2
    reader.rollback()
    reader.close()
    assert report.subjects == 3
    copy = Service.open(tmp_path / "copy.db", user="tester", today=TODAY)
    assert state(copy) == state(study)
    copy.close()


def test_no_backup_from_inside_an_unfinished_change(study, db_path, tmp_path):
    conn = study.store.conn
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO meta (key, value) VALUES ('half', 'done')")
    started = time.monotonic()
    with pytest.raises(StoreError, match="in the middle of a change. Nothing was changed"):
        backup.write_backup(conn, db_path, tmp_path / "copy.db")
    assert time.monotonic() - started < 2  # Python's backup() alone would retry for ever
    conn.rollback()
    assert sorted(os.listdir(tmp_path)) == ["study.db", "study.db-shm", "study.db-wal"]  # no copy, no .part


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal"])
def test_the_live_database_is_not_a_backup_target(study, db_path, tmp_path, suffix):
    before = state(study)
    (tmp_path / "sub").mkdir()
    for target in (tmp_path / f"study.db{suffix}", tmp_path / "sub" / ".." / f"study.db{suffix}"):
        with pytest.raises(StoreError, match="is the live database .* another file. Nothing was changed"):
            backup.write_backup(study.store.conn, db_path, target)
    assert state(study) == before and study.verify_audit().ok
    assert not list(tmp_path.glob("*.part"))


def test_a_folder_or_a_missing_folder_is_refused(study, db_path, tmp_path):
    before = state(study)
    with pytest.raises(StoreError, match="is a folder: give the path of a backup file inside it"):
        backup.write_backup(study.store.conn, db_path, tmp_path)
    with pytest.raises(StoreError, match="the folder .*nowhere does not exist. Nothing was changed"):
        backup.write_backup(study.store.conn, db_path, tmp_path / "nowhere" / "copy.db")
    assert not (tmp_path / "nowhere").exists()
    assert state(study) == before


def test_a_backup_replaces_an_older_backup_but_not_another_file(study, db_path, tmp_path):
    target = tmp_path / "copy.db"
    backup.write_backup(study.store.conn, db_path, target)
    study.add_subject(make_subject("101-003"))
    assert backup.write_backup(study.store.conn, db_path, target).subjects == 3
    notes = tmp_path / "notes.db"
    notes.write_text("minutes of the site initiation visit\n")
    with pytest.raises(StoreError, match="exists and is not a coordinator database: choose another name"):
        backup.write_backup(study.store.conn, db_path, notes)
    assert notes.read_text() == "minutes of the site initiation visit\n"


def test_a_part_file_left_by_a_crash_is_discarded(study, db_path, tmp_path):
    (tmp_path / "copy.db.part").write_bytes(b"half a backup" * 100)
    (tmp_path / "copy.db.part-journal").write_bytes(b"and its journal" * 100)
    assert backup.write_backup(study.store.conn, db_path, tmp_path / "copy.db").subjects == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]


@pytest.mark.parametrize("where", ["fsync", "sqlite"])
def test_a_failed_write_leaves_no_part_and_the_old_backup(study, db_path, tmp_path, monkeypatch, where):
    target = tmp_path / "copy.db"
    backup.write_backup(study.store.conn, db_path, target)
    old = target.read_bytes()
    study.add_subject(make_subject("101-003"))
    if where == "fsync":  # the copy is complete on disk, then the disk fills up
        def full(fd):
            assert (tmp_path / "copy.db.part").exists()
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(backup.os, "fsync", full)
    else:
        def full(source, dest):
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorname = "SQLITE_FULL"
            raise exc
        monkeypatch.setattr(backup, "_online_copy", full)
    with pytest.raises(StoreError, match=r"copy.db was not written. The disk holding .* is full. Nothing was changed. "
                                         r"Free some space"):
        backup.write_backup(study.store.conn, db_path, target)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]
    monkeypatch.undo()
    fresh = tmp_path / "fresh.db"
    monkeypatch.setattr(backup.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(StoreError, match="reported an error"):
        backup.write_backup(study.store.conn, db_path, fresh)
    assert not fresh.exists() and not (tmp_path / "fresh.db.part").exists()


def test_a_folder_that_cannot_be_written(study, db_path, tmp_path, monkeypatch):
    """What SQLite says when it cannot make the file (the read-only folder below, where root is not exempt)."""
    def cannot_open(source, dest):
        exc = sqlite3.OperationalError("unable to open database file")
        exc.sqlite_errorname = "SQLITE_CANTOPEN"
        raise exc
    monkeypatch.setattr(backup, "_online_copy", cannot_open)
    with pytest.raises(StoreError, match="The folder .* cannot be written .* Nothing was changed. Choose another folder"):
        backup.write_backup(study.store.conn, db_path, tmp_path / "copy.db")
    assert not list(tmp_path.glob("copy*"))


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root (or Windows) writes whatever the folder's mode")
def test_a_read_only_folder(study, db_path, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="cannot be written .* Nothing was changed. Choose another folder"):
            backup.write_backup(study.store.conn, db_path, folder / "copy.db")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# -- verify_file --------------------------------------------------------------------------------
@pytest.fixture
def good_backup(study, db_path, tmp_path):
    return backup.write_backup(study.store.conn, db_path, tmp_path / "good.db").path


def test_verify_file_reads_without_changing_anything(good_backup):
    before = (good_backup.read_bytes(), good_backup.stat().st_mtime_ns)
    report = backup.verify_file(good_backup)
    assert report.subjects == 2 and report.path == good_backup
    assert (good_backup.read_bytes(), good_backup.stat().st_mtime_ns) == before
    assert side_files(good_backup) == []


def test_verify_file_leaves_no_side_files_beside_a_closed_wal_database(study, db_path):
    study.close()
    assert side_files(db_path) == []
    assert backup.verify_file(db_path).subjects == 2
    assert side_files(db_path) == []


def test_verify_file_names_a_foreign_file(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match="other.db is not a coordinator database .*made by another program"):
        backup.verify_file(other)
    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match="noise.db is not a coordinator database .*not a database file at all"):
        backup.verify_file(noise)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match="empty.db is empty"):
        backup.verify_file(empty)
    assert empty.stat().st_size == 0
    with pytest.raises(StoreError, match="There is no file .*missing.db"):
        backup.verify_file(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_verify_file_finds_a_truncated_copy_damaged(good_backup, tmp_path):
    data = good_backup.read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(StoreError, match="cut.db is damaged"):
        backup.verify_file(cut)


def test_verify_file_finds_an_audit_row_changed_behind_the_apps_back(good_backup):
    tamper(good_backup)
    with pytest.raises(StoreError, match=r"good.db is a coordinator database, but its audit trail is broken: .*"
                                         r"guard was removed .*Row #2 does not match its hash"):
        backup.verify_file(good_backup)


# -- restore ------------------------------------------------------------------------------------
def test_restore_brings_the_backup_back_into_the_same_live_file(study, db_path, good_backup):
    expected = state(study)
    study.add_subject(make_subject("101-003"))
    inode = db_path.stat().st_ino
    report = backup.restore(good_backup, db_path)
    assert (report.path, report.subjects, report.audit_head, report.set_aside) == (db_path, 2, expected[2], None)
    assert db_path.stat().st_ino == inode  # the same file: the app's own connection sees the restored data
    assert state(study) == expected
    study.close()
    store = Store(db_path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.subject_ids() == ["101-001", "101-002"] and store.verify_audit().ok
    store.close()
    again = Service.open(db_path, user="tester", today=TODAY)
    assert state(again) == expected
    again.record_visit("101-001", "C1D8", d("2025-03-10"))  # and it takes new writes
    assert again.verify_audit().ok
    again.close()


def test_restore_from_a_bad_backup_changes_nothing(study, db_path, good_backup, tmp_path):
    study.add_subject(make_subject("101-003"))
    before = state(study)
    cut = tmp_path / "cut.db"
    cut.write_bytes(good_backup.read_bytes()[:20000])
    with pytest.raises(StoreError, match="cut.db is damaged.* Nothing was changed"):
        backup.restore(cut, db_path)
    tamper(good_backup)
    with pytest.raises(StoreError, match="audit trail is broken.* Nothing was changed"):
        backup.restore(good_backup, db_path)
    with pytest.raises(StoreError, match="is the live database itself"):
        backup.restore(db_path, db_path)
    assert state(study) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("study")) == ["study.db", "study.db-shm", "study.db-wal"]


def test_a_backup_says_which_study_it_holds_and_another_studys_is_never_restored(study, db_path, good_backup, tmp_path):
    """Two studies at one site: their backups look alike. A restore of the other study's backup
    would put its subjects in place of this one's; it is refused before anything is written."""
    report = study.check_backup(good_backup)
    assert (report.study, report.subjects) == ("SEL-LEN-MM", 2)
    assert report.last_change == study.audit()[-1].at
    other_backup = other_study_backup(tmp_path)
    assert backup.verify_file(other_backup).study == "OTHER-01"
    before, folder = state(study), tmp_path / "safety"
    for refuse in (lambda: study.check_backup(other_backup), lambda: study.restore(other_backup, folder)):
        with pytest.raises(StoreError, match="other-backup.db is a backup of study OTHER-01, not of SEL-LEN-MM: .*"
                                             "Nothing was changed"):
            refuse()
    assert state(study) == before and not folder.exists()  # not even the safety copy
    assert not [p for p in tmp_path.iterdir() if "restoring" in p.name]


def test_restore_says_busy_while_another_program_writes(study, db_path, good_backup):
    study.add_subject(make_subject("101-003"))
    before = state(study)
    started = time.monotonic()
    with another_writer(db_path), pytest.raises(
            StoreError, match="in use by another program or window that is writing to it. Nothing was changed"):
        backup.restore(good_backup, db_path, busy_timeout=0.1)
    assert time.monotonic() - started < 3
    assert state(study) == before
    assert backup.restore(good_backup, db_path).subjects == 2  # once the other writer is gone


def test_restore_sets_aside_a_damaged_live_file(study, db_path, good_backup, tmp_path, monkeypatch):
    study.close()
    for extra in side_files(db_path):
        os.remove(f"{db_path}{extra}")
    db_path.write_bytes(b"garbage" * 1000)
    monkeypatch.setattr(backup, "_now", lambda: dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.timezone.utc))
    report = backup.restore(good_backup, db_path)
    assert report.set_aside == tmp_path / "study.db.before-restore-20260115-093000"
    assert report.set_aside.read_bytes() == b"garbage" * 1000
    assert "was kept as" in report.summary()
    store = Store(db_path)
    assert store.subject_ids() == ["101-001", "101-002"]
    store.close()


def test_restore_sets_aside_a_live_file_with_a_broken_trail_and_fills_a_missing_one(study, db_path, good_backup, tmp_path):
    study.close()
    tamper(db_path)
    report = backup.restore(good_backup, db_path)
    assert report.set_aside is not None and "before-restore" in report.set_aside.name
    with pytest.raises(StoreError, match="audit trail is broken"):
        backup.verify_file(report.set_aside)  # kept as it was, for whoever looks into it
    assert backup.verify_file(db_path).subjects == 2
    for path in [db_path, *(f"{db_path}{s}" for s in side_files(db_path))]:
        os.remove(path)
    report = backup.restore(good_backup, db_path)
    assert report.set_aside is None and Service.open(db_path, user="tester").store.subject_ids() == ["101-001", "101-002"]


def test_restore_refuses_a_backup_from_a_newer_app(study, db_path, good_backup):
    conn = sqlite3.connect(good_backup)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')")
    conn.commit()
    conn.close()
    before = state(study)
    with pytest.raises(StoreError, match="newer version of coordinator: update the app .* Nothing was changed"):
        backup.restore(good_backup, db_path)
    with pytest.raises(StoreError, match="newer version of coordinator"):  # before the question, not after it
        study.check_backup(good_backup)
    assert state(study) == before


# -- automatic backups -----------------------------------------------------------------------------
@pytest.fixture
def clock(monkeypatch):
    """backup._now, set by the test."""
    times = []
    monkeypatch.setattr(backup, "_now", lambda: times[-1])
    return times


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def test_auto_backups_are_named_by_time_and_rotate(study, db_path, tmp_path, clock):
    folder = tmp_path / "deep" / "backups"  # made when missing
    names = []
    for minute in (0, 1, 2, 2, 3):  # the third and fourth in the same second
        clock.append(at(f"2026-01-15 09:{minute:02d}:00"))
        names.append(backup.auto_backup(study.store.conn, db_path, folder, keep=3).path.name)
    assert names == ["study-20260115-090000.db", "study-20260115-090100.db", "study-20260115-090200.db",
                     "study-20260115-090200-2.db", "study-20260115-090300.db"]
    (folder / "study-notes.txt").write_text("not a backup")
    (folder / "other-20260115-093000.db").write_bytes(b"another database's backup")
    assert [p.name for p in backup.backups_in(folder, "study")] == [
        "study-20260115-090300.db", "study-20260115-090200-2.db", "study-20260115-090200.db"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "other-20260115-093000.db", "study-20260115-090200-2.db", "study-20260115-090200.db", "study-20260115-090300.db",
        "study-notes.txt"]
    assert [p.name for p in backup.prune(folder, "study", 1)] == ["study-20260115-090200-2.db", "study-20260115-090200.db"]
    assert backup.backups_in(tmp_path / "none", "study") == []


def test_backups_in_the_same_second_stay_in_order_after_pruning(study, db_path, tmp_path, clock):
    clock.append(at("2026-01-15 09:00:00"))
    names = [backup.auto_backup(study.store.conn, db_path, tmp_path, keep=1).path.name for _ in range(3)]
    assert names == ["study-20260115-090000.db", "study-20260115-090000-2.db", "study-20260115-090000-3.db"]
    assert [p.name for p in backup.backups_in(tmp_path, "study")] == ["study-20260115-090000-3.db"]


def test_the_backup_just_written_is_kept_even_if_the_clock_went_back(study, db_path, tmp_path, clock):
    folder = backup.default_backup_folder(db_path)
    assert folder == tmp_path / "backups"
    clock.append(at("2026-01-15 09:00:00"))
    backup.auto_backup(study.store.conn, db_path, folder, keep=1)
    clock.append(at("2026-01-14 09:00:00"))
    report = backup.auto_backup(study.store.conn, db_path, folder, keep=1)
    assert report.path.exists()


def test_last_good_backup_skips_a_damaged_newest(study, db_path, tmp_path, clock):
    folder = tmp_path / "backups"
    for hour in (9, 10, 11):
        study.add_subject(make_subject(f"101-{hour:03d}"))
        clock.append(at(f"2026-01-15 {hour:02d}:00:00"))
        backup.auto_backup(study.store.conn, db_path, folder)
    newest, middle, oldest = backup.backups_in(folder, "study")
    newest.write_bytes(newest.read_bytes()[:8192])
    path, report = backup.last_good_backup(folder, "study")
    assert path == middle and report.subjects == 4
    for path in (middle, oldest):
        tamper(path)
    assert backup.last_good_backup(folder, "study") is None
    assert backup.last_good_backup(tmp_path / "none", "study") is None
