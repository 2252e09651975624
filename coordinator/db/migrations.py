"""Numbered schema migrations. Each runs once, in order, in one transaction, and is
recorded in ``schema_migrations``. Never edit a released migration: add a new one.
A step is an SQL statement, or a function given the connection (for data that SQL alone cannot
compute, such as the audit trail's hashes)."""

from typing import Callable

from coordinator.db import chain

def _add_plan_cycle_and_day(conn) -> None:
    """The columns, unless the table has them: for a while migration 1 itself was edited to
    create them (databases made then have them already; databases made before, not)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(plan)")}
    for column in ("cycle", "day"):
        if column not in columns:
            conn.execute(f"ALTER TABLE plan ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: list[tuple[int, str, list[str | Callable]]] = [
    (1, "facts, audit trail and plan cache", [
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE subjects (
            id TEXT PRIMARY KEY,
            initials TEXT NOT NULL,
            sex TEXT NOT NULL CHECK (sex IN ('F', 'M')),
            birth_date TEXT NOT NULL,
            consent_date TEXT NOT NULL,
            childbearing_potential INTEGER CHECK (childbearing_potential IN (0, 1)),
            name TEXT,
            mrn TEXT,
            screen_failure_date TEXT,
            screen_failure_reason TEXT,
            c1d1 TEXT,
            steroid_drug TEXT,
            steroid_dose_mg REAL,
            steroid_days TEXT,
            last_dose TEXT,
            end_of_treatment_reason TEXT
        )""",
        "CREATE INDEX subjects_c1d1 ON subjects(c1d1) WHERE c1d1 IS NOT NULL",
        """CREATE TABLE visits (
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            visit TEXT NOT NULL,
            date TEXT,
            missed INTEGER NOT NULL DEFAULT 0 CHECK (missed IN (0, 1)),
            reason TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (subject_id, visit),
            CHECK ((date IS NULL) = (missed = 1))
        ) WITHOUT ROWID""",
        """CREATE TABLE procedures (
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            visit TEXT NOT NULL,
            procedure TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'not_done', 'not_applicable', 'requested')),
            date TEXT,
            reason TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (subject_id, visit, procedure)
        ) WITHOUT ROWID""",
        """CREATE TABLE events (
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            type TEXT NOT NULL,
            date TEXT NOT NULL,
            PRIMARY KEY (subject_id, type)
        ) WITHOUT ROWID""",
        """CREATE TABLE dose_changes (
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            drug TEXT NOT NULL,
            level INTEGER NOT NULL,
            from_cycle INTEGER NOT NULL CHECK (from_cycle >= 1),
            PRIMARY KEY (subject_id, drug, from_cycle)
        ) WITHOUT ROWID""",
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            user TEXT NOT NULL,
            action TEXT NOT NULL,
            subject_id TEXT,
            field TEXT,
            old TEXT,
            new TEXT,
            reason TEXT
        )""",
        "CREATE INDEX audit_subject ON audit(subject_id)",
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
        # Fact and plan tables are keyed by subject: WITHOUT ROWID stores each row once, in key order.
        # The plan is a cache, rebuilt from the facts whenever a subject's facts change.
        """CREATE TABLE plan (
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            seq INTEGER NOT NULL,
            visit TEXT NOT NULL,
            label TEXT NOT NULL,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            date TEXT,
            missed INTEGER NOT NULL,
            cancelled_from TEXT,
            PRIMARY KEY (subject_id, visit)
        ) WITHOUT ROWID""",
        # The due list reads only open visits, visits done after the day asked about
        # and visits cancelled after it: each through its own small index.
        "CREATE INDEX plan_open ON plan(window_start) WHERE date IS NULL AND missed = 0 AND cancelled_from IS NULL",
        "CREATE INDEX plan_dated ON plan(date) WHERE date IS NOT NULL",
        "CREATE INDEX plan_cancelled ON plan(cancelled_from) WHERE cancelled_from IS NOT NULL",
    ]),
    (2, "planned cycle 1 day 1", [
        "ALTER TABLE subjects ADD COLUMN planned_c1d1 TEXT",
        # The screening-expiry list reads only subjects awaiting their first dose with a date booked.
        """CREATE INDEX subjects_awaiting_planned ON subjects(planned_c1d1)
           WHERE planned_c1d1 IS NOT NULL AND c1d1 IS NULL AND screen_failure_date IS NULL""",
    ]),
    (3, "audit hash chain, accounts, signatures", [
        "ALTER TABLE audit ADD COLUMN hash TEXT",
        chain.seal_existing,
        # every row written from now on carries its hash (chain.row_hash); the app computes it
        """CREATE TRIGGER audit_needs_hash BEFORE INSERT ON audit WHEN NEW.hash IS NULL OR length(NEW.hash) != 64
           BEGIN SELECT RAISE(ABORT, 'an audit row needs its hash'); END""",
        # Accounts are never deleted (disabled instead), so an id or a name is never reused and
        # every audit row's user stays someone.
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'investigator', 'monitor')),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            last_failed_at TEXT
        )""",
        """CREATE TRIGGER users_no_delete BEFORE DELETE ON users
           BEGIN SELECT RAISE(ABORT, 'accounts are disabled, never deleted'); END""",
        """CREATE TRIGGER users_keep_identity BEFORE UPDATE OF id, name ON users
           WHEN NEW.id IS NOT OLD.id OR NEW.name IS NOT OLD.name
           BEGIN SELECT RAISE(ABORT, 'an account keeps its id and name'); END""",
        # An investigator's sign-off of a visit's record (the audit trail holds it too).
        """CREATE TABLE signatures (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            visit TEXT NOT NULL,
            user TEXT NOT NULL,
            display_name TEXT NOT NULL,
            meaning TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX signatures_subject ON signatures(subject_id, visit)",
        """CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
           BEGIN SELECT RAISE(ABORT, 'a signature cannot be changed'); END""",
        """CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
           BEGIN SELECT RAISE(ABORT, 'a signature cannot be deleted'); END""",
    ]),
    (4, "plan rows keep each visit's cycle and day", [
        _add_plan_cycle_and_day,
        # the cached plans are rebuilt from the facts on this open (the engine check sees no version)
        "DELETE FROM meta WHERE key = 'plan_version'",
    ]),
]
