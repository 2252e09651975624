"""The audit trail's hash chain: whatever raw SQL does to the rows, `verify` says where."""

import sqlite3

import pytest
from helpers import d, make_subject

from coordinator.db import chain


@pytest.fixture
def trail(enrolled, db_path):
    """A study with a few audit rows, and a raw connection to tamper with (its guards lifted)."""
    enrolled.record_visit("101-001", "C1D8", d("2025-03-10"))
    enrolled.tick("101-001", "C1D8", "vital_signs")
    enrolled.add_subject(make_subject("101-002"))
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("DROP TRIGGER audit_no_delete")
    return enrolled, raw


def rehash_everything(raw):
    previous = chain.GENESIS
    for row in raw.execute(f"SELECT {', '.join(chain.COLUMNS)} FROM audit ORDER BY seq").fetchall():
        previous = chain.row_hash(previous, row)
        raw.execute("UPDATE audit SET hash = ? WHERE seq = ?", (previous, row[0]))


def rows(service):
    return service.store.audit_rows()


def test_an_untouched_trail_verifies(enrolled):
    report = enrolled.verify_audit()
    assert report.ok and report.rows == len(rows(enrolled)) == report.last_seq
    assert report.summary().startswith(f"The audit trail is intact: {report.rows} rows")
    before = report.head
    enrolled.tick("101-001", "C1D1", "vital_signs")
    assert enrolled.verify_audit().ok and enrolled.verify_audit().head != before


def test_an_edited_row_is_found(trail):
    service, raw = trail
    seq = rows(service)[3].seq
    raw.execute("UPDATE audit SET new = 'something else' WHERE seq = ?", (seq,))
    report = service.verify_audit()
    assert not report.ok
    assert "append-only guard was removed" in report.problems[0]
    assert report.problems[1:] == (f"Row #{seq} does not match its hash: it, or the row before it, was changed, "
                                   "inserted or moved outside the app.",)  # one edit, one problem


@pytest.mark.parametrize("before, after", [(None, ""), ("", None), ("tester", "tester ")])
def test_changes_to_and_from_empty_values_are_changes(trail, before, after):
    service, raw = trail
    row = rows(service)[2]

    def behind_the_guards(sql, *params):
        raw.execute("DROP TRIGGER IF EXISTS audit_no_update")
        raw.execute(sql, params)
        raw.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END")
    raw.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END")
    behind_the_guards("UPDATE audit SET reason = ? WHERE seq = ?", before, row.seq)
    raw.execute("DROP TRIGGER audit_no_update")
    rehash_everything(raw)
    behind_the_guards("SELECT 1")
    assert service.verify_audit().ok  # a forger who rehashes every later row is consistent (see chain.py)...
    behind_the_guards("UPDATE audit SET reason = ? WHERE seq = ?", after, row.seq)
    assert service.verify_audit().problems == (f"Row #{row.seq} does not match its hash: it, or the row before it, "
                                               "was changed, inserted or moved outside the app.",)  # ...any change is not


def test_a_deleted_row_is_found(trail):
    service, raw = trail
    seq = rows(service)[2].seq
    raw.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    problems = " ".join(service.verify_audit().problems)
    assert f"Row #{seq} is missing (deleted)." in problems


def test_rows_deleted_from_the_end_are_found(trail):
    service, raw = trail
    last = rows(service)[-1].seq
    raw.execute("DELETE FROM audit WHERE seq >= ?", (last - 1,))
    assert f"The last rows (#{last - 1} to #{last}) were deleted." in service.verify_audit().problems
    # and the gap stays: the next row does not reuse the numbers
    service.tick("101-001", "C1D1", "vital_signs")
    assert rows(service)[-1].seq == last + 1
    assert f"Rows #{last - 1} to #{last} are missing (deleted)." in service.verify_audit().problems


def test_reordered_rows_are_found(trail):
    service, raw = trail
    a, b = rows(service)[2].seq, rows(service)[3].seq
    raw.execute("UPDATE audit SET seq = -1 WHERE seq = ?", (a,))
    raw.execute("UPDATE audit SET seq = ? WHERE seq = ?", (a, b))
    raw.execute("UPDATE audit SET seq = ? WHERE seq = -1", (b,))
    assert f"Row #{a} does not match its hash" in " ".join(service.verify_audit().problems)


def test_a_row_without_its_hash_is_refused(enrolled):
    with pytest.raises(sqlite3.IntegrityError, match="needs its hash"):
        enrolled.store.conn.execute("INSERT INTO audit (at, user, action) VALUES ('2026-01-01T00:00:00Z', 'x', 'forged')")


def test_two_services_writing_in_turn_keep_one_chain(enrolled, db_path):
    from coordinator.service import Service

    other = Service.open(db_path, user="other", today=enrolled.today)
    for n in range(5):
        enrolled.tick("101-001", "C1D1", "vital_signs", status="done" if n % 2 else "not_applicable", why="x",
                      reason="re-ticked")
        other.tick("101-001", "SCR", "ecg", status="done" if n % 2 else "not_applicable", why="y", reason="re-ticked")
    report = other.verify_audit()
    assert report.ok, report.summary()
    assert [r.seq for r in rows(other)] == list(range(1, report.rows + 1))
    other.close()


def test_a_blob_put_in_by_raw_sql_is_judged_not_crashed_on(trail):
    service, raw = trail
    seq = rows(service)[2].seq
    raw.execute("UPDATE audit SET reason = X'6869' WHERE seq = ?", (seq,))
    assert f"Row #{seq} does not match its hash" in " ".join(service.verify_audit().problems)


def test_a_file_name_that_is_not_text_is_audited(enrolled, tmp_path):
    odd = tmp_path / "subjects\udcff.json"  # bytes that are not UTF-8, as Python hands them over
    enrolled.export_file(odd)
    assert enrolled.audit()[-1].new == "1 subjects to subjects\\udcff.json" and enrolled.verify_audit().ok
