"""The SQLite store: facts, the append-only audit trail, and the plan cache.

Every change goes through ``Store.write()``: one transaction that holds the
changed facts, their audit rows and the rebuilt plan rows, or nothing at all.
SQLite failures a coordinator can act on (locked, full, read-only, damaged
file) become ``StoreError`` with a plain message (``failure_error``, which the
backups use too); anything else propagates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import errno
import functools
import json
import os
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator


from coordinator.accounts import Account
from coordinator.dates import iso
from coordinator.db import chain, shares
from coordinator.db.migrations import MIGRATIONS
from coordinator.errors import DamagedDatabase, DatabaseInUse, StoreError
from coordinator.model import DoseChange, DueItem, ProcedureRecord, Steroid, Subject, VisitRecord
from coordinator.schedule import PlannedVisit, visit_status

DB_FORMAT = "coordinator-db/1"
BUSY_TIMEOUT_S = 5.0
_CHILDREN = frozenset({"visits", "procedures", "events", "dose_changes"})  # a subject's child tables
_CHUNK = 500  # ids per IN (...) list: well under SQLite's limit on bound variables (999 in older builds)
_TICK_COLUMNS = "subject_id, visit, procedure, status, date, reason"


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: str
    user: str
    action: str
    subject_id: str | None
    field: str | None
    old: str | None
    new: str | None
    reason: str | None


SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's working files beside a database


def log_to_recover(path: Path) -> bool:
    """Whether the database has changes in its write-ahead log that its next open must read back
    (a connection left without closing, by a crash or a window still open on it)."""
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:  # none: the last connection to close removes it
        return False


def remove_with_side_files(path: Path) -> None:
    """Delete a database file and its working files."""
    for suffix in ("", *SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def utc_now() -> str:
    """Time stamps are UTC, to the microsecond, marked Z: unambiguous whatever the workstation's zone."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Transaction:
    """One user action in progress: facts, audit rows and plan rows, committed together."""

    def __init__(self, db, user: str, action: str):  # db: a sqlite_utils.Database
        self.db = db
        self.user = user
        self.action = action
        self.at = utc_now()
        self._next: tuple[int, str] | None = None  # the chain's next sequence number and previous hash

    def audit(self, subject_id: str | None, field: str | None, old, new, reason: str | None = None,
              action: str | None = None) -> None:
        """One audit row, chained to the one before it (``chain.row_hash``)."""
        seq, previous = self._next or chain.next_row(self.db.conn)
        row = (seq, self.at, _storable(self.user), action or self.action, _storable(subject_id), _storable(field),
               _storable(_text(old)), _storable(_text(new)), _storable(reason) or None)
        digest = chain.row_hash(previous, row)
        self.db.conn.execute(
            "INSERT INTO audit (seq, at, user, action, subject_id, field, old, new, reason, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row + (digest,))
        self._next = (seq + 1, digest)

    def save_subject(self, subject: Subject) -> None:
        """Write every fact of ``subject``, replacing what was stored for it."""
        sid = subject.id
        for table in ("visits", "procedures", "events", "dose_changes"):
            self.db.execute(f"DELETE FROM {table} WHERE subject_id = ?", (sid,))
        self.db["subjects"].insert(_subject_row(subject), replace=True)
        run = self.db.conn.executemany  # plain executemany: sqlite-utils' per-value handling is slow on imports
        run("INSERT INTO visits (subject_id, visit, date, missed, reason, notes) VALUES (?, ?, ?, ?, ?, ?)",
            [(sid, v.visit, iso(v.date), int(v.missed), v.reason, v.notes) for v in subject.visits.values()])
        run("INSERT INTO procedures (subject_id, visit, procedure, status, date, reason) VALUES (?, ?, ?, ?, ?, ?)",
            [(sid, p.visit, p.procedure, p.status, iso(p.date), p.reason) for p in subject.procedures.values()])
        run("INSERT INTO events (subject_id, type, date) VALUES (?, ?, ?)",
            [(sid, kind, iso(day)) for kind, day in subject.events.items()])
        run("INSERT INTO dose_changes (subject_id, drug, level, from_cycle) VALUES (?, ?, ?, ?)",
            [(sid, c.drug, c.level, c.from_cycle) for c in subject.dose_changes])

    def save_plan(self, subject_id: str, plan: list[PlannedVisit]) -> None:
        self.db.execute("DELETE FROM plan WHERE subject_id = ?", (subject_id,))
        self.db.conn.executemany(
            "INSERT INTO plan (subject_id, seq, visit, label, kind, cycle, day, target, window_start, window_end,"
            " date, missed, cancelled_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(subject_id, i, v.code, v.label, v.kind, v.cycle, v.day, iso(v.target), iso(v.window_start),
              iso(v.window_end), iso(v.date), int(v.missed), iso(v.cancelled_from)) for i, v in enumerate(plan)],
        )

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].insert({"key": key, "value": value}, replace=True)

    def add_account(self, name: str, display_name: str, role: str, password_hash: str) -> None:
        self.db.conn.execute("INSERT INTO users (name, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                             (name, display_name, role, password_hash, self.at))

    def update_account(self, name: str, **fields) -> None:
        """Set columns of one account (never its id or name: the database refuses)."""
        assignments = ", ".join(f"{column} = ?" for column in fields)
        self.db.conn.execute(f"UPDATE users SET {assignments} WHERE name = ?", (*fields.values(), name))

    def add_signature(self, subject_id: str, visit: str, account: Account, meaning: str) -> None:
        self.db.conn.execute("INSERT INTO signatures (subject_id, visit, user, display_name, meaning, at) VALUES (?, ?, ?, ?, ?, ?)",
                             (subject_id, visit, account.name, account.display_name, meaning, self.at))


class Store:
    """An open coordinator database file."""

    def __init__(self, path: str | Path, create: bool = False, busy_timeout: float = BUSY_TIMEOUT_S,
                 migrate: bool = True):
        """``migrate=False``: leave pending migrations (``migrations_pending``) to another opening,
        which may take long on a large database (the app's runs on a worker thread)."""
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder: give the path of a database file inside it.")
        if not create and not self.path.exists():
            raise StoreError(f"There is no database at {self.path}. Create one with 'coordinator init' or 'coordinator demo'.")
        if create and self.path.exists():
            raise StoreError(f"{self.path} already exists: choose another file name (nothing was changed).")
        if create:
            _check_folder(self.path)
        share = shares.network_filesystem(self.path)
        if share:
            raise StoreError(f"{self.path} is on a network share ({share}): SQLite's file locking is unsafe there, and "
                             "two computers writing at once could damage the study. Keep the database on this "
                             "computer's own disk (backups may go to the share).")
        with self._translating("open"):
            self.conn = conn = sqlite3.connect(str(self.path), timeout=busy_timeout)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA synchronous = FULL")
            try:
                if not create:
                    check_coordinator_file(conn, self.path)
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = wal")
                # read once: a file of a newer version is refused either way
                self._pending = self._pending_migrations()
                if migrate:
                    self._migrate()
            except BaseException:
                if create:
                    self.discard()
                else:
                    conn.close()  # never leave a connection to a file this store refused
                raise

    @functools.cached_property
    def db(self):
        """sqlite-utils over the same connection, made at the first write: reads use the plain
        connection, so opening the app does not pay for importing sqlite-utils (~30 ms)."""
        import sqlite_utils
        return sqlite_utils.Database(self.conn, execute_plugins=False)

    def close(self) -> None:
        self.conn.close()

    def discard(self) -> None:
        """Close and delete a database this process has just created (its set-up failed)."""
        self.close()
        remove_with_side_files(self.path)

    # -- transactions ------------------------------------------------------------
    @contextlib.contextmanager
    def write(self, user: str, action: str) -> Iterator[Transaction]:
        """One user action: everything done on the yielded transaction commits together, or nothing."""
        conn = self.conn
        with self._translating("save"):
            # IMMEDIATE takes the write lock up front, so a busy database waits
            # (busy timeout) at the start instead of failing half-way.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self.db, user, action)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _translating(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            error = failure_error(exc, self.path, "Nothing was saved." if doing == "save" else "Nothing was changed.",
                                  live=True)
            if error is None:
                raise
            raise error from exc

    # -- schema --------------------------------------------------------------------
    @contextlib.contextmanager
    def _migrating(self) -> Iterator[None]:
        """One migration, whole or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _pending_migrations(self) -> list:
        """The migrations this file still needs (all of them for a new one); a file that a newer
        version of the app migrated further is refused."""
        done = check_not_newer(self.conn, self.path)
        return [migration for migration in MIGRATIONS if migration[0] not in done]

    def migrations_pending(self) -> bool:
        """Whether the schema needs migrating (opened with ``migrate=False``; once migrated, never)."""
        return bool(self._pending)

    def _migrate(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self.conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                              "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        for version, name, statements in pending:
            with self._migrating():
                # another process may have applied it while this one waited for the write lock
                if self.conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    continue
                for statement in statements:
                    if callable(statement):
                        statement(self.conn)
                    else:
                        self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")),
                )

    def schema_version(self) -> int:
        return self.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]

    # -- reads -----------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def subject_ids(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT id FROM subjects ORDER BY id")]

    def initials(self) -> dict[str, str]:
        """Every subject's initials by id: one narrow query, for lists that show them beside the id."""
        with self._translating("read"):
            return dict(self.conn.execute("SELECT id, initials FROM subjects").fetchall())

    def count_started(self) -> int:
        """Subjects who ever started cycle 1 (the enrollment cap counts these)."""
        return self.conn.execute("SELECT count(*) FROM subjects WHERE c1d1 IS NOT NULL").fetchone()[0]

    def load_subject(self, subject_id: str) -> Subject | None:
        subjects = self._load("WHERE subject_id = ?", (subject_id,), "WHERE id = ?")
        return subjects[0] if subjects else None

    def load_subjects(self, procedures: bool = True) -> list[Subject]:
        """Every subject; ``procedures=False`` leaves out the checklist ticks (most of the rows),
        for views that need only the schedule."""
        return self._load("", (), "", _CHILDREN if procedures else _CHILDREN - {"procedures"})

    def load_subjects_by_id(self, subject_ids: Iterable[str], children: frozenset[str] = _CHILDREN,
                            procedures: dict | None = None) -> list[Subject]:
        """The subjects with these ids (unknown ids are left out), every fact included: a few
        queries per chunk of ids rather than a few per subject."""
        ids = sorted(set(subject_ids))
        subjects = []
        for i in range(0, len(ids), _CHUNK):
            chunk = tuple(ids[i:i + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            subjects += self._load(f"WHERE subject_id IN ({marks})", chunk, f"WHERE id IN ({marks})", children, procedures)
        return subjects

    def load_for_checklists(self, pairs: Iterable[tuple[str, str]]) -> list[Subject]:
        """The subjects of these (subject id, visit code) pairs with every fact but the checklist
        ticks of other visits (a visit's checklist reads only its own): most of a subject's rows
        are ticks, and a dashboard asks about one or two visits of each."""
        pairs = sorted(set(pairs))
        ticks: dict = defaultdict(dict)
        for i in range(0, len(pairs), _CHUNK // 2):
            chunk = pairs[i:i + _CHUNK // 2]
            values = ", ".join("(?, ?)" for _ in chunk)
            # a join from the wanted pairs reads each through the primary key (an IN over row values would scan)
            self._read_ticks(f"WITH wanted(s, v) AS (VALUES {values}) SELECT {_TICK_COLUMNS} FROM wanted"
                             " CROSS JOIN procedures ON subject_id = wanted.s AND visit = wanted.v",
                             tuple(x for pair in chunk for x in pair), ticks)
        return self.load_subjects_by_id((sid for sid, _ in pairs), _CHILDREN - {"procedures"}, ticks)

    def load_registry(self) -> list[Subject]:
        """Every subject with only what the registry reads beside the plan: the subject's own
        row and its events. Visits, ticks and dose changes are left out (the plan holds the visits)."""
        return self._load("", (), "", frozenset({"events"}))

    def load_awaiting_planned(self) -> list[Subject]:
        """Subjects awaiting their first dose (no cycle 1 day 1, no screen failure) with a planned
        cycle 1 day 1, every fact included; read through a partial index, not every subject."""
        where = "planned_c1d1 IS NOT NULL AND c1d1 IS NULL AND screen_failure_date IS NULL"
        return self._load(f"WHERE subject_id IN (SELECT id FROM subjects WHERE {where})", (), f"WHERE {where}")

    def _read_ticks(self, sql: str, params: tuple, into: dict) -> None:
        with self._translating("read"):
            for sid, visit, proc, status, date, reason in self.conn.execute(sql, params):
                into[sid][(visit, proc)] = ProcedureRecord(visit, proc, status, _date(date), reason)

    def planned_codes(self, subject_ids: Iterable[str]) -> dict[str, set[str]]:
        """The visit codes in each of these subjects' cached plans."""
        ids = sorted(set(subject_ids))
        codes: dict[str, set[str]] = defaultdict(set)
        for i in range(0, len(ids), _CHUNK):
            chunk = tuple(ids[i:i + _CHUNK])
            with self._translating("read"):
                rows = self.conn.execute(
                    f"SELECT subject_id, visit FROM plan WHERE subject_id IN ({', '.join('?' * len(chunk))})", chunk)
                for sid, code in rows:
                    codes[sid].add(code)
        return codes

    def _load(self, child_where: str, params: tuple, subject_where: str,
              children: frozenset[str] = _CHILDREN, procedures: dict | None = None) -> list[Subject]:
        """Subjects and the child rows named in ``children``; ``procedures``, when given, holds
        ticks the caller has read itself."""
        with self._translating("read"):
            q = self.conn.execute
            visits, events, changes = defaultdict(dict), defaultdict(dict), defaultdict(list)
            procedures = procedures if procedures is not None else defaultdict(dict)
            if "visits" in children:
                for sid, visit, date, missed, reason, notes in q(
                        f"SELECT subject_id, visit, date, missed, reason, notes FROM visits {child_where}", params):
                    visits[sid][visit] = VisitRecord(visit, _date(date), bool(missed), reason, notes)
            if "procedures" in children:
                self._read_ticks(f"SELECT {_TICK_COLUMNS} FROM procedures {child_where}", params, procedures)
            if "events" in children:
                for sid, kind, date in q(f"SELECT subject_id, type, date FROM events {child_where}", params):
                    events[sid][kind] = _date(date)
            if "dose_changes" in children:
                for sid, drug, level, from_cycle in q(
                        f"SELECT subject_id, drug, level, from_cycle FROM dose_changes {child_where} ORDER BY from_cycle, drug", params):
                    changes[sid].append(DoseChange(drug, level, from_cycle))
            rows = q(f"SELECT * FROM subjects {subject_where} ORDER BY id", params)
            columns = [c[0] for c in rows.description]
            return [_subject(dict(zip(columns, row)), visits, procedures, events, changes) for row in rows]

    def plan(self, subject_id: str) -> list[PlannedVisit]:
        rows = self.conn.execute(f"SELECT {_PLAN_COLUMNS} FROM plan WHERE subject_id = ? ORDER BY seq", (subject_id,))
        return [_planned(row[1:]) for row in rows]

    def plans(self) -> dict[str, list[PlannedVisit]]:
        """Every subject's cached plan, in one query."""
        plans: dict[str, list[PlannedVisit]] = defaultdict(list)
        for row in self.conn.execute(f"SELECT {_PLAN_COLUMNS} FROM plan ORDER BY subject_id, seq"):
            plans[row[0]].append(_planned(row[1:]))
        return plans

    def due(self, on: dt.date, horizon: dt.date) -> list[DueItem]:
        """The due list, most urgent first: overdue (most days late first), due (window closing
        soonest first), upcoming (window opening by ``horizon``, soonest first).

        Reads only plan rows that can be open on ``on``, through three small indexes: open
        visits, visits done after ``on``, visits cancelled after ``on``; each is graded by
        ``schedule.visit_status``, the one definition of a visit's status.
        """
        columns = "subject_id, visit, label, target, window_start, window_end, date, missed, cancelled_from"
        sql = f"""
            SELECT {columns} FROM plan
             WHERE date IS NULL AND missed = 0 AND cancelled_from IS NULL AND window_start <= :h
            UNION ALL
            SELECT {columns} FROM plan WHERE date > :d AND missed = 0 AND window_start <= :h
            UNION ALL
            SELECT {columns} FROM plan WHERE cancelled_from > :d AND date IS NULL AND missed = 0 AND window_start <= :h
        """
        with self._translating("read"):
            rows = self.conn.execute(sql, {"d": iso(on), "h": iso(horizon)}).fetchall()
        items = []
        for sid, code, label, target, start, end, date, missed, cancelled in rows:
            start, end = _date(start), _date(end)
            status = visit_status(_date(date), missed, _date(cancelled), start, end, on)
            item = DueItem.of(sid, code, label, _date(target), start, end, status, on)
            if item is not None:
                items.append(item)
        return sorted(items, key=DueItem.urgency)

    # -- accounts and the audit chain ----------------------------------------------------------
    def has_accounts(self) -> bool:
        with self._translating("read"):
            return self.conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0] == 1

    def accounts(self) -> list[Account]:
        with self._translating("read"):
            return [Account(*row) for row in self.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM users ORDER BY id")]

    def account(self, name: str) -> Account | None:
        """The account of this name, whatever its case (names are unique without regard to case)."""
        with self._translating("read"):
            row = self.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
        return Account(*row) if row else None

    def password_hash(self, name: str) -> str | None:
        row = self.conn.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def signatures(self, subject_id: str) -> list[tuple[str, str, str, str, str]]:
        """(visit, user, display name, meaning, at) of every sign-off of the subject's visits, oldest first."""
        with self._translating("read"):
            return self.conn.execute("SELECT visit, user, display_name, meaning, at FROM signatures"
                                     " WHERE subject_id = ? ORDER BY seq", (subject_id,)).fetchall()

    def verify_audit(self) -> chain.ChainReport:
        with self._translating("read"):
            return chain.verify(self.conn)

    def audit_continues(self, seq: int, head: str, where: str) -> str | None:
        with self._translating("read"):
            return chain.continues(self.conn, seq, head, where)

    def actions_since_last(self, action: str) -> set[str] | None:
        """The actions of the audit rows after the last ``action`` row (None: there is none)."""
        with self._translating("read"):
            last = self.conn.execute("SELECT max(seq) FROM audit WHERE action = ?", (action,)).fetchone()[0]
            if last is None:
                return None
            return {row[0] for row in self.conn.execute("SELECT DISTINCT action FROM audit WHERE seq > ?", (last,))}

    def audit_rows(self, subject_id: str | None = None) -> list[AuditRow]:
        where, params = ("WHERE subject_id = ?", (subject_id,)) if subject_id else ("", ())
        rows = self.conn.execute(f"SELECT seq, at, user, action, subject_id, field, old, new, reason FROM audit {where} ORDER BY seq", params)
        return [AuditRow(*row) for row in rows]


_ACCOUNT_COLUMNS = "id, name, display_name, role, created_at, disabled_at, failed_logins, last_failed_at"
_PLAN_COLUMNS = "subject_id, visit, label, kind, cycle, day, target, window_start, window_end, date, missed, cancelled_from"


def _planned(row) -> PlannedVisit:
    code, label, kind, cycle, day, target, start, end, date, missed, cancelled = row
    return PlannedVisit(code, label, kind, _date(target), _date(start), _date(end), _date(date), bool(missed),
                        _date(cancelled), cycle, day)


@functools.lru_cache(maxsize=4096)
def _date(text: str | None) -> dt.date | None:
    # cached: a due list or a plan holds thousands of rows but few distinct dates
    return dt.date.fromisoformat(text) if text else None


def _storable(text: str | None) -> str | None:
    """Text as SQLite can store it: a file name with bytes that are not UTF-8 (they reach Python
    as lone surrogates) keeps them as \\udcxx escapes instead of failing the write."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _subject_row(s: Subject) -> dict:
    return {
        "id": s.id, "initials": s.initials, "sex": s.sex, "birth_date": iso(s.birth_date),
        "consent_date": iso(s.consent_date),
        "childbearing_potential": None if s.childbearing_potential is None else int(s.childbearing_potential),
        "name": s.name, "mrn": s.mrn, "screen_failure_date": iso(s.screen_failure_date),
        "screen_failure_reason": s.screen_failure_reason, "c1d1": iso(s.c1d1),
        "planned_c1d1": iso(s.planned_c1d1),
        "steroid_drug": s.steroid.drug if s.steroid else None,
        "steroid_dose_mg": s.steroid.dose_mg if s.steroid else None,
        "steroid_days": json.dumps(list(s.steroid.days)) if s.steroid else None,
        "last_dose": iso(s.last_dose), "end_of_treatment_reason": s.end_of_treatment_reason,
    }


def _subject(row: dict, visits, procedures, events, changes) -> Subject:
    sid = row["id"]
    steroid = None
    if row["steroid_drug"]:
        steroid = Steroid(row["steroid_drug"], row["steroid_dose_mg"], tuple(json.loads(row["steroid_days"])))
    cbp = row["childbearing_potential"]
    return Subject(
        id=sid, initials=row["initials"], sex=row["sex"], birth_date=_date(row["birth_date"]),
        consent_date=_date(row["consent_date"]), childbearing_potential=None if cbp is None else bool(cbp),
        name=row["name"], mrn=row["mrn"], screen_failure_date=_date(row["screen_failure_date"]),
        screen_failure_reason=row["screen_failure_reason"], c1d1=_date(row["c1d1"]),
        planned_c1d1=_date(row["planned_c1d1"]), steroid=steroid,
        dose_changes=tuple(changes.get(sid, ())), visits=dict(visits.get(sid, {})),
        procedures=dict(procedures.get(sid, {})), last_dose=_date(row["last_dose"]),
        end_of_treatment_reason=row["end_of_treatment_reason"], events=dict(events.get(sid, {})),
    )


def _table_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def check_coordinator_file(conn: sqlite3.Connection, name: str | Path) -> None:
    """Raise ``DamagedDatabase`` unless ``conn`` is open on a coordinator database (``name``: how
    the message calls the file): an empty file, or one another program made, is none."""
    tables = _table_names(conn)
    if not tables:
        raise DamagedDatabase(f"{name} is empty, not a coordinator database.")
    row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() if "meta" in tables else None
    if row is None or row[0] != DB_FORMAT:
        raise DamagedDatabase(f"{name} is not a coordinator database (it was made by another program).")


def check_not_newer(conn: sqlite3.Connection, name: str | Path) -> set[int]:
    """The versions of the migrations applied to the database behind ``conn`` (none yet: an empty
    set); ``StoreError`` when a newer version of the app migrated it further than this one can."""
    if "schema_migrations" not in _table_names(conn):
        return set()
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    if done and max(done) > max(version for version, _, _ in MIGRATIONS):
        raise StoreError(f"{name} was written by a newer version of coordinator: update the app to open it.")
    return done


_FALSE_NULL = re.compile(r"NULL value in (\w+)\.(\w+)")


def integrity_problems(conn: sqlite3.Connection, limit: int = 10) -> list[str]:
    """SQLite's integrity check, [] when the file is whole. SQLite 3.40 reports 'NULL value in
    T.C' for a NOT NULL column of a WITHOUT ROWID table declared before a key column although the
    value is there (dose_changes.level): each such report is checked with a query of its own."""
    problems = []
    for (text,) in conn.execute(f"PRAGMA integrity_check({int(limit)})"):
        if text == "ok":
            continue
        null = _FALSE_NULL.fullmatch(text)
        # typeof(): SQLite would answer 'C IS NULL' on a NOT NULL column from the schema, not the rows
        if null and not conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{null[1]}" WHERE typeof("{null[2]}") = \'null\')').fetchone()[0]:
            continue
        if text not in problems:
            problems.append(text)
    return problems


def _check_folder(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise StoreError(f"Cannot create {path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise StoreError(f"Cannot create {path}: the folder {folder} is not writable.")


# -- failures in a coordinator's words ---------------------------------------------------------------
class Failure(enum.Enum):
    """What went wrong with a database file, as far as a coordinator can act on it (``failure_kind``)."""

    IN_USE = "in use"  # another program holds the lock
    DISK_FULL = "disk full"
    READ_ONLY = "read-only"  # the file, its folder or its disk may not be written
    CANNOT_OPEN = "cannot open"
    NOT_A_DATABASE = "not a database"
    DAMAGED = "damaged"
    DISK_ERROR = "disk error"


# Each failure: SQLite's result codes (an extended code starts with its primary code's name), the
# words of SQLite's message for an error that has no code (made by hand), the system's error numbers.
_FAILURES = (
    (Failure.IN_USE, ("SQLITE_BUSY", "SQLITE_LOCKED"), "locked", ()),
    (Failure.DISK_FULL, ("SQLITE_FULL",), "disk is full", (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))),
    (Failure.READ_ONLY, ("SQLITE_READONLY", "SQLITE_PERM"), "readonly", (errno.EACCES, errno.EPERM, errno.EROFS)),
    (Failure.NOT_A_DATABASE, ("SQLITE_NOTADB",), "not a database", ()),
    (Failure.DAMAGED, ("SQLITE_CORRUPT",), "malformed", ()),
    (Failure.CANNOT_OPEN, ("SQLITE_CANTOPEN",), "unable to open", ()),
    (Failure.DISK_ERROR, ("SQLITE_IOERR",), "disk i/o error", (errno.EIO,)),
)


def failure_kind(exc: BaseException) -> Failure | None:
    """Which known failure ``exc`` (an ``sqlite3.Error``, or an ``OSError`` met writing a file)
    is; None: none a coordinator can act on (a bug, to be shown as one)."""
    if isinstance(exc, OSError):
        return next((kind for kind, _, _, numbers in _FAILURES if exc.errno in numbers), None)
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorname", None)
    text = str(exc).lower()
    return next((kind for kind, codes, words, _ in _FAILURES if (code.startswith(codes) if code else words in text)),
                None)


def failure_error(exc: BaseException, path: Path, nothing: str = "", *, name: str | None = None, live: bool = False,
                  new_file: bool = False, kind: Failure | None = None) -> StoreError | None:
    """``exc``, met using the file at ``path``, in words a coordinator can act on, as the error that
    says what to do: ``DatabaseInUse`` (try again), ``DamagedDatabase`` (restore a backup), or
    ``StoreError``. None when it is no known failure (a bug: the caller re-raises it).

    What is the caller's own: ``nothing`` ('Nothing was saved.'), ``name`` (how the message calls
    the file, its path by default), what the file is: ``live``, the study's database (so called, and
    restored from a backup when damaged); ``new_file``, a file being written where the user chose (a
    failing disk or folder is its folder's, and another can be chosen); and ``kind``, when the caller
    knows better than ``failure_kind`` what the failure is."""
    kind = kind or failure_kind(exc)
    if kind is None:
        return None
    path = Path(path)
    file = name or (f"The database {path}" if live else str(path))
    folder, advice, error = path.parent, "", StoreError
    if kind is Failure.IN_USE:
        problem, advice = (f"{file} is in use by another program or window that is writing to it.",
                           "Try again in a moment, or close the other program.")
        error = DatabaseInUse
    elif kind is Failure.DISK_FULL:
        problem = f"The disk holding {folder if new_file else path} is full."
        advice = "Free some space, or choose another disk, and try again." if new_file else "Free some space and try again."
    elif new_file and kind in (Failure.READ_ONLY, Failure.CANNOT_OPEN):
        problem, advice = (f"The folder {folder} cannot be written (a read-only disk or folder, or no permission).",
                           "Choose another folder.")
    elif kind is Failure.READ_ONLY:
        problem = f"{file} is read-only (check the permissions of the file and of its folder)."
    elif kind is Failure.CANNOT_OPEN:
        problem = (f"{file} cannot be opened (SQLite says: {exc}): check the permissions of the file and of its "
                   "folder (a read-only disk or folder?).")
    elif kind is Failure.NOT_A_DATABASE:
        problem = f"{name or path} is not a coordinator database, or it is damaged."  # maybe no database at all
        error = DamagedDatabase if live else StoreError
    elif kind is Failure.DAMAGED:
        problem = f"{file} is damaged (SQLite says: {exc})."
        advice, error = ("Restore it from a backup.", DamagedDatabase) if live else ("", StoreError)
    else:  # Failure.DISK_ERROR
        problem, advice = f"The disk holding {folder if new_file else path} reported an error.", "Check the drive and try again."
    return error(" ".join(part for part in (problem, nothing, advice) if part))
