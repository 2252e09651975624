"""Killing a writing process at random moments loses no acknowledged write and leaves nothing
half-done (the short run; ``bench/crash_run.py`` makes 1,000 kills). See ``crash_harness``."""

import copy

import crash_harness
import pytest
from helpers import make_subject

from coordinator import transfer
from coordinator.service import Service


def test_killed_writers_lose_nothing_acknowledged_and_leave_nothing_half_done(tmp_path):
    counts = crash_harness.run(tmp_path / "crash.db", kills=25, seed=20261123, delay=(0.02, 0.3), full_every=5)
    assert counts.failures == [], counts.summary()
    assert counts.kills == 25
    assert counts.kills_after_ack > counts.kills // 2, counts.summary()  # most kills hit a database being written
    assert counts.kills_mid_write > 0 and counts.acked_imports > 0, counts.summary()
    assert counts.full_checks == 5


def test_the_checker_sees_a_lost_write_a_half_done_import_and_a_change_behind_the_apps_back(tmp_path):
    """The harness itself can fail: each way a crash could hurt the data is seen."""
    path = tmp_path / "study.db"
    service = Service.create(path, user="tester", today=crash_harness.TODAY)
    service.add_subject(make_subject("101-001"))
    checker = crash_harness.Checker(path)
    checker.start()
    checker.check([], None, crash_harness.Counts(), full=True)

    lost = {"n": 1, "op": "record_visit", "subject": "101-001", "visit": "SCR", "date": "2025-02-12", "notes": ""}
    with pytest.raises(crash_harness.CheckFailed, match="visits: 0 rows, 1 acknowledged"):
        copy.deepcopy(checker).check([lost], None, crash_harness.Counts(), full=False)

    half = {"n": 2, "op": "import", "subjects": [transfer.subject_to_json(make_subject(f"101-00{i}")) for i in (2, 3)]}
    service.add_subject(make_subject("101-002"))  # only the first of the import's two subjects
    with pytest.raises(crash_harness.CheckFailed, match="import #2 half-done: 1 of its 2 subjects saved"):
        copy.deepcopy(checker).check([], half, crash_harness.Counts(), full=False)

    checker.check([{"n": 3, "op": "import", "subjects": half["subjects"][:1]}], None, crash_harness.Counts(), full=True)
    service.store.conn.execute("UPDATE subjects SET initials = 'ZZ' WHERE id = '101-001'")  # outside the service
    service.store.conn.commit()
    with pytest.raises(crash_harness.CheckFailed, match="101-001: the database holds initials: 'ZZ' where 'ABC' was expected"):
        checker.check([], None, crash_harness.Counts(), full=True)
    service.close()
