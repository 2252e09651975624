"""The audit trail's hash chain: each row's hash covers its own values and the hash of the row
before it, so an edit, a deletion or a reordering done behind the app's back (raw SQL, another
tool) breaks the chain at that row and ``verify`` says where.

Values are hashed as JSON, where NULL and '' differ: a change from or to an empty value is a
change (REDCap's and OpenClinica's triggers miss some of these). The chain has no key: it proves
the rows were not changed by anything that did not also rewrite every hash after them; keep the
head hash ``verify`` prints (in a backup log, a monitor's report) to pin it down from outside.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

GENESIS = "0" * 64  # the 'previous hash' of the first row
COLUMNS = ("seq", "at", "user", "action", "subject_id", "field", "old", "new", "reason")
GUARDS = ("audit_no_update", "audit_no_delete", "audit_needs_hash")


def row_hash(previous: str, row: tuple) -> str:
    """The hash of one audit row (its ``COLUMNS`` values, in order) following ``previous``. A value
    SQLite holds as a BLOB (only raw SQL puts one there) is hashed as tagged hex, so it is judged,
    not crashed on."""
    import hashlib  # loaded at the first write or check, not when the app starts
    values = [{"blob": value.hex()} if isinstance(value, bytes) else value for value in row]
    payload = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{payload}".encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head: str  # the last row's hash (GENESIS when the trail is empty)
    last_seq: int
    problems: tuple[str, ...]
    compared_with: str = ""  # the backup whose head this trail was found to continue, if any

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            also = f" It continues the trail held by the backup {self.compared_with}." if self.compared_with else ""
            return f"The audit trail is intact: {self.rows} rows, the last #{self.last_seq}, head hash {self.head}.{also}"
        return "The audit trail is broken: " + " ".join(self.problems)


def next_row(conn: sqlite3.Connection) -> tuple[int, str]:
    """The sequence number the next row takes and the hash it follows. The number is the one
    AUTOINCREMENT would give (SQLite remembers the largest ever used), so rows deleted from the
    end leave a gap that ``verify`` sees."""
    used = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    last = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (used[0] if used else 0) + 1, (last[0] if last and last[0] else GENESIS)


def verify(conn: sqlite3.Connection, limit: int = 5) -> ChainReport:
    """Walk the whole trail and report where it breaks (the first ``limit`` problems)."""
    problems: list[str] = []
    triggers = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")}
    missing = [name for name in GUARDS if name not in triggers]
    if missing:
        problems.append(f"Its append-only guard was removed ({', '.join(missing)}): the file was changed outside the app.")
    previous, expected, rows, last_seq = GENESIS, 1, 0, 0
    for row in conn.execute(f"SELECT {', '.join(COLUMNS)}, hash FROM audit ORDER BY seq"):
        values, stored = row[:-1], row[-1]
        seq = values[0]
        if seq != expected:
            problems.append(f"Rows #{expected} to #{seq - 1} are missing (deleted)." if seq > expected + 1
                            else f"Row #{expected} is missing (deleted).")
        computed = row_hash(previous, values)
        if stored != computed:
            problems.append(f"Row #{seq} does not match its hash: it, or the row before it, was changed, "
                            "inserted or moved outside the app.")
        previous = stored or computed  # judge each later row against what is stored, so one edit is one problem
        expected, rows, last_seq = seq + 1, rows + 1, seq
        if len(problems) >= limit:
            break
    else:
        used = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
        if used and used[0] > last_seq:
            problems.append(f"The last rows (#{last_seq + 1} to #{used[0]}) were deleted.")
    return ChainReport(rows, previous, last_seq, tuple(problems[:limit]))


def continues(conn: sqlite3.Connection, seq: int, head: str, where: str) -> str | None:
    """Whether this trail still holds row #``seq`` with the hash ``head`` (a head kept elsewhere,
    such as a backup's): None if so, else the problem. It catches what the chain alone cannot: the
    newest rows deleted (or the trail rewritten) since ``where`` was taken."""
    if seq == 0:
        return None
    row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        return (f"Row #{seq}, which {where} holds, is not in the trail: rows were deleted from its end "
                "(or it is older than that backup).")
    if row[0] != head:
        return f"Row #{seq} differs from the one {where} holds: the trail was rewritten since."
    return None


def seal_existing(conn: sqlite3.Connection) -> None:
    """Migration step: hash the rows written before the chain existed, in order (the guards
    are lifted for this one update, inside the migration's transaction)."""
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    previous = GENESIS
    for row in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY seq").fetchall():
        previous = row_hash(previous, row)
        conn.execute("UPDATE audit SET hash = ? WHERE seq = ?", (previous, row[0]))
    conn.execute("""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""")
