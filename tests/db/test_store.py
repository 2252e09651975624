"""The store: pragmas, migrations, the append-only audit trail, and clear errors for bad files."""

import os
import sqlite3

import pytest
from helpers import TODAY, another_writer, d, make_subject

from coordinator.db.store import Store
from coordinator.errors import DamagedDatabase, DatabaseInUse, StoreError
from coordinator.service import Service


def test_pragmas_and_migrations(service):
    db = service.store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert service.store.schema_version() == 4
    assert [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")] == [1, 2, 3, 4]
    assert "planned_c1d1" in db["subjects"].columns_dict


def test_a_released_version_1_database_upgrades_on_open(released_v1):
    """Opening a database of the first released core (``released_v1``) migrates it, seals its audit
    rows into the chain and rebuilds its plans with their cycles and days."""
    path = released_v1
    svc = Service.open(path, user="tester", today=TODAY)
    assert svc.store.schema_version() == 4
    report = svc.verify_audit()
    assert report.ok and report.rows == 5  # init, add, record SCR, enroll, dose change: their old rows, sealed
    assert [r.user for r in svc.audit()] == ["released"] * 5
    c2d1 = next(v for v in svc.timeline("101-001").visits if v.visit.code == "C2D1").visit
    assert (c2d1.cycle, c2d1.day, c2d1.target) == (2, 1, d("2025-03-31"))
    assert [s.id for s in svc.subjects()] == ["101-001"]
    assert svc.subject("101-001").planned_c1d1 is None
    svc.edit_subject("101-001", planned_c1d1=d("2025-03-03"))
    assert svc.subject("101-001").planned_c1d1 == d("2025-03-03") and svc.verify_audit().ok
    svc.close()


def test_a_database_to_migrate_says_so_and_is_left_as_it_is_until_migrated(released_v1):
    """``migrate=False``: what the app's quick open on the GUI thread uses to leave the migrations
    of a large database to its worker thread."""
    path = released_v1
    store = Store(path, migrate=False)
    assert store.migrations_pending() and store.schema_version() == 1
    store.close()
    store = Store(path)
    assert not store.migrations_pending() and store.schema_version() == 4
    store.close()


def test_planned_c1d1_is_stored(service, db_path):
    service.add_subject(make_subject("101-001", planned_c1d1=d("2025-03-03")))
    service.add_subject(make_subject("101-002"))
    service.close()
    again = Service.open(db_path, today=TODAY)
    assert again.subject("101-001").planned_c1d1 == d("2025-03-03")
    assert again.subject("101-002").planned_c1d1 is None
    again.close()


def test_awaiting_planned_reads_only_those_subjects(service):
    service.add_subject(make_subject("101-001", planned_c1d1=d("2025-03-03")))  # awaiting, planned
    service.add_subject(make_subject("101-002"))  # awaiting, nothing planned
    service.add_subject(make_subject("101-003", planned_c1d1=d("2025-03-03"), c1d1=d("2025-03-04")))  # dosed
    service.add_subject(make_subject("101-004", planned_c1d1=d("2025-03-03"), screen_failure_date=d("2025-02-20"),
                                     screen_failure_reason="synthetic"))
    service.tick("101-001", "SCR", "hematology", date=d("2025-02-20"))
    got = service.store.load_awaiting_planned()
    assert [s.id for s in got] == ["101-001"]
    assert ("SCR", "hematology") in got[0].procedures  # with its checklist ticks
    plan = service.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM subjects "
        "WHERE planned_c1d1 IS NOT NULL AND c1d1 IS NULL AND screen_failure_date IS NULL").fetchall()
    assert any("subjects_awaiting_planned" in row[-1] for row in plan), plan


def test_load_subjects_by_id_in_chunks(service, monkeypatch):
    from coordinator.db import store

    monkeypatch.setattr(store, "_CHUNK", 2)
    for i in range(1, 6):
        service.add_subject(make_subject(f"101-{i:03d}"))
    service.tick("101-005", "SCR", "hematology", date=d("2025-02-20"))
    got = service.store.load_subjects_by_id(["101-005", "101-001", "999-999", "101-003", "101-001"])
    assert [s.id for s in got] == ["101-001", "101-003", "101-005"]
    assert got[2] == service.subject("101-005")  # every fact, ticks included
    assert service.store.load_subjects_by_id([]) == []


def test_audit_trail_refuses_updates_and_deletes(enrolled):
    db = enrolled.store.db
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET user = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")


def test_no_database_there(tmp_path):
    with pytest.raises(StoreError, match="There is no database at .*coordinator init"):
        Store(tmp_path / "missing.db")


def test_create_refuses_to_overwrite(service, db_path):
    with pytest.raises(StoreError, match="already exists"):
        Service.create(db_path)


def test_create_in_missing_folder(tmp_path):
    with pytest.raises(StoreError, match="the folder .* does not exist"):
        Service.create(tmp_path / "no" / "such" / "study.db")


def test_foreign_and_damaged_files(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("this is a shopping list, not a database\n" * 200)
    with pytest.raises(DamagedDatabase, match="not a coordinator database, or it is damaged"):
        Service.open(text)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(DamagedDatabase, match="made by another program"):
        Service.open(other)
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


def test_damaged_database(enrolled, db_path):
    enrolled.close()
    size = db_path.stat().st_size
    with open(db_path, "r+b") as f:  # overwrite the pages after the header
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    with pytest.raises(DamagedDatabase, match="damaged"):
        svc = Service.open(db_path, today=TODAY)
        svc.timeline("101-001")


def test_locked_database_gives_a_clear_message_and_loses_nothing(enrolled, db_path):
    with another_writer(db_path, enrolled), pytest.raises(
            DatabaseInUse, match="^The database .*study.db is in use by another program or window.* Nothing was saved"):
        enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))  # not damaged: try again
    assert "C1D8" not in enrolled.subject("101-001").visits
    enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))  # works once the other writer is gone
    assert enrolled.subject("101-001").visits["C1D8"].date == d("2025-03-10")


def test_full_disk_gives_a_clear_message_and_loses_nothing(enrolled):
    db = enrolled.store.db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: as if the disk were full
    audit_before = len(enrolled.audit())
    subjects = [make_subject(sid=f"102-{i:03d}", c1d1=None) for i in range(200)]
    with pytest.raises(StoreError, match="disk holding .* is full. Nothing was saved"):
        enrolled.import_subjects(subjects)
    assert enrolled.store.subject_ids() == ["101-001"]
    assert len(enrolled.audit()) == audit_before


def test_read_only_database(enrolled, db_path):
    if os.geteuid() == 0:
        # root ignores file permissions; open the file read-only through SQLite instead
        enrolled.store.conn.close()
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        import sqlite_utils
        enrolled.store.conn = conn
        enrolled.store.db = sqlite_utils.Database(conn)
    else:
        enrolled.close()
        os.chmod(db_path, 0o444)
        enrolled = Service.open(db_path, today=TODAY)
    with pytest.raises(StoreError, match="read-only"):
        enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))


def test_newer_schema_is_refused(service, db_path):
    service.store.db.execute("INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')")
    service.close()
    with pytest.raises(StoreError, match="newer version of coordinator"):
        Service.open(db_path)
    with pytest.raises(StoreError, match="newer version of coordinator"):
        Store(db_path, migrate=False)


def test_a_second_writer_waits_or_fails_cleanly_never_loses_a_change(enrolled, db_path):
    """Alice's change is read, checked and saved in one transaction; Bob, writing meanwhile,
    gets a clear 'in use' message instead of having his change silently overwritten."""
    bob = Service.open(db_path, user="bob", today=TODAY)
    bob.store.db.execute("PRAGMA busy_timeout = 50")
    outcome = {}

    def alice_change(subject):
        try:
            bob.record_visit("101-001", "C1D15", d("2025-03-17"))
        except StoreError as exc:
            outcome["bob"] = str(exc)
        from dataclasses import replace
        from coordinator.model import VisitRecord
        return replace(subject, visits={**subject.visits, "C1D8": VisitRecord("C1D8", d("2025-03-10"))})

    enrolled._update("101-001", "record_visit", None, alice_change)
    assert "in use by another program" in outcome["bob"]
    visits = enrolled.subject("101-001").visits
    assert "C1D8" in visits and "C1D15" not in visits
    assert [r.field for r in enrolled.audit("101-001")][-1] == "visits.C1D8"
    bob.record_visit("101-001", "C1D15", d("2025-03-17"))  # after Alice: based on her saved facts
    assert set(enrolled.subject("101-001").visits) == {"C1D8", "C1D15"}


def test_a_folder_is_not_a_database(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        Service.open(tmp_path)


def test_failed_creation_leaves_no_half_made_file(tmp_path, monkeypatch):
    from coordinator.db import store

    def broken(self, key, value):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(store.Transaction, "set_meta", broken)
    with pytest.raises(StoreError, match="full"):
        Service.create(tmp_path / "new.db")
    assert list(tmp_path.iterdir()) == []


def test_two_processes_upgrading_at_once_do_not_collide(tmp_path, monkeypatch):
    """Each migration is re-checked once the write lock is held: the second opener finds it done."""
    import threading

    from coordinator.db import store

    path = tmp_path / "old.db"
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:2])
    monkeypatch.setattr(store.Store, "has_accounts", lambda self: False)
    monkeypatch.setattr(store.Transaction, "audit", lambda *args, **kwargs: None)
    Service.create(path, user="tester", today=TODAY).close()
    monkeypatch.undo()
    real = store.Store._migrating
    started = threading.Barrier(2)

    def slow_start(self):  # both read the applied versions before either takes the lock
        started.wait(timeout=5)
        return real(self)
    monkeypatch.setattr(store.Store, "_migrating", slow_start)
    errors = []

    def open_it():
        try:
            Store(path).close()
        except Exception as exc:  # noqa: BLE001 (the test reports whatever escaped)
            errors.append(exc)
    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Store(path).schema_version() == 4


def test_the_integrity_check_is_not_fooled_by_sqlite_3_40(tmp_path):
    """SQLite 3.40 reports 'NULL value in dose_changes.level' for values that are there (a NOT NULL
    column of a WITHOUT ROWID table declared before a key column); a real NULL is still reported."""
    from coordinator.db.store import integrity_problems

    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.execute("CREATE TABLE t (a TEXT NOT NULL, level INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID")
    conn.execute("INSERT INTO t VALUES ('x', -1, 3)")
    assert integrity_problems(conn) == []
    # a NULL that is really there (put in behind the constraint's back)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = replace(sql, 'level INTEGER NOT NULL', 'level INTEGER') WHERE name = 't'")
    conn.close()
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.execute("INSERT INTO t VALUES ('y', NULL, 4)")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = replace(sql, 'level INTEGER', 'level INTEGER NOT NULL') WHERE name = 't'")
    conn.close()
    conn = sqlite3.connect(tmp_path / "t.db")
    assert integrity_problems(conn) == ["NULL value in t.level"]
