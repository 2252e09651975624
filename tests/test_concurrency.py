"""Two instances writing at once, a database held by another instance, a full disk: clear
messages, no lost write, nothing half-done, and an audit chain that still verifies."""

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import TODAY, d, make_subject

from coordinator.db.store import integrity_problems
from coordinator.errors import StoreError
from coordinator.service import Service

WRITER = Path(__file__).with_name("crash_writer.py")
SHARED = "200-000"
WRITES = 48  # per worker; a quarter of them unscheduled visits of the shared subject


def start_worker(path: Path, name: str, slot: int, folder: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    out = folder / f"{name}.out"
    with open(out, "wb") as stdout, open(folder / f"{name}.err", "wb") as stderr:
        proc = subprocess.Popen([sys.executable, str(WRITER), "worker", str(path), name, "--slot", str(slot),
                                 "--shared", SHARED, "--own", f"200-00{slot + 1}", "--writes", str(WRITES),
                                 "--go", str(folder / "go"), "--pause-ms", "6", *extra], stdout=stdout, stderr=stderr)
    return proc, out


def lines(out: Path, kind: str) -> list[dict]:
    return [json.loads(line.partition(" ")[2]) for line in out.read_text().splitlines() if line.startswith(kind + " ")]


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_concurrent_writers_lose_nothing_and_an_impatient_one_gets_a_clear_message(tmp_path):
    """w0 and w1 wait for the lock as the app does (5 s); w2 waits only 20 ms. While they all write,
    another instance holds the write lock for half a second: w0 and w1 wait it out, w2 is told the
    database is in use, and nothing of its refused writes is saved."""
    path = tmp_path / "study.db"
    service = Service.create(path, user="tester", today=TODAY)
    for sid in (SHARED, "200-001", "200-002", "200-003"):
        service.add_subject(make_subject(sid, consent="2025-01-10"))
    rows_before = len(service.audit())
    workers = {"w0": start_worker(path, "w0", 0, tmp_path), "w1": start_worker(path, "w1", 1, tmp_path),
               "w2": start_worker(path, "w2", 2, tmp_path, "--busy-ms", "20", "--stop", str(tmp_path / "stop"))}
    try:
        wait_for(lambda: all(out.read_text().startswith("READY") for _, out in workers.values()), "the workers to start")
        (tmp_path / "go").touch()
        wait_for(lambda: all(len(lines(out, "ACK")) >= 4 for _, out in workers.values()), "the workers to write")
        other = Service.open(path, user="other", today=TODAY)  # a second instance, in the middle of a write
        with other.store.write("other", "hold"):
            time.sleep(0.5)
        other.close()
        for name in ("w0", "w1"):
            assert workers[name][0].wait(60) == 0, (tmp_path / f"{name}.err").read_text()
        wait_for(lambda: lines(workers["w2"][1], "BUSY"), "w2 to be refused the lock")
        (tmp_path / "stop").touch()
        assert workers["w2"][0].wait(60) == 0, (tmp_path / "w2.err").read_text()
    finally:
        for proc, _ in workers.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    acked = {name: lines(out, "ACK") for name, (_, out) in workers.items()}
    busy = {name: lines(out, "BUSY") for name, (_, out) in workers.items()}
    assert len(acked["w0"]) + len(busy["w0"]) == len(acked["w1"]) + len(busy["w1"]) == WRITES
    assert len(acked["w2"]) >= WRITES
    for name, timeout in (("w0", 5.0), ("w1", 5.0), ("w2", 0.02)):
        for refused in busy[name]:  # refused only once its whole busy timeout had passed, with the plain message
            assert refused["waited"] >= timeout * 0.9, refused
            assert "is in use by another program or window that is writing to it. Nothing was saved." in refused["message"]
    assert busy["w0"] == busy["w1"] == []  # the half-second hold is waited out

    # every acknowledged write is there: the shared subject's unscheduled visits numbered 1..n
    # without a gap or a repeat, each with the notes of the write that made it
    subjects = {sid: service.subject(sid) for sid in (SHARED, "200-001", "200-002", "200-003")}
    unscheduled = [a for name in acked for a in acked[name] if a["op"] == "add_unscheduled"]
    for sid in subjects:
        made = [a for a in unscheduled if a["subject"] == sid]
        got = {code: (v.date.isoformat(), v.notes) for code, v in subjects[sid].visits.items() if code.startswith("UNS")}
        assert got == {a["code"]: (a["date"], a["notes"]) for a in made}
        assert sorted(got, key=lambda code: int(code[3:])) == [f"UNS{i}" for i in range(1, len(made) + 1)]
    for i in range(3):
        name = f"w{i}"
        last_visit = [a for a in acked[name] if a["op"] == "record_visit"][-1]
        scr = subjects[f"200-00{i + 1}"].visits["SCR"]
        assert (scr.date.isoformat(), scr.notes) == (last_visit["date"], last_visit["notes"])
        ticks = {a["procedure"]: a["date"] for a in acked[name] if a["op"] == "tick"}
        assert {p: subjects[SHARED].procedures[("SCR", p)].date.isoformat() for p in ticks} == ticks
    # a refused write left nothing: none of its notes is anywhere, and no audit row is its
    notes = {v.notes for s in subjects.values() for v in s.visits.values()}
    assert not notes & {r["notes"] for r in busy["w2"] if r["op"] != "tick"}

    # the audit trail: one row per write that changed something, in each writer's order, chained
    rows = service.audit()[rows_before:]
    for name in acked:
        expected = [f"visits.{a['code']}" if a["op"] == "add_unscheduled" else
                    f"procedures.SCR.{a['procedure']}" if a["op"] == "tick" else "visits.SCR"
                    for a in acked[name] if a["changed"]]
        assert [r.field for r in rows if r.user == name] == expected
    assert len(rows) == sum(a["changed"] for a in sum(acked.values(), []))
    users = [r.user for r in rows]
    assert sum(a != b for a, b in zip(users, users[1:])) >= 3  # the writes did interleave
    report = service.verify_audit()
    assert report.ok, report.summary()
    assert report.rows == rows_before + len(rows)
    assert integrity_problems(service.store.conn) == []
    service.close()


def test_a_full_disk_during_an_import_saves_none_of_it(service, tmp_path):
    """The file may grow by only a few pages (as if the disk filled up part-way through the
    import): the import fails with a clear message, nothing of it is saved, and once there is
    room the same file imports whole."""
    service.add_subject(make_subject("101-001"))
    document = {"format": "coordinator-subjects/1", "subjects": [
        {"id": f"102-{i:03d}", "initials": "ABC", "sex": "F", "birth_date": "1958-04-02", "consent_date": "2025-02-10",
         "childbearing_potential": False, "visits": [{"visit": "SCR", "date": "2025-02-12", "notes": "x" * 200}],
         "procedures": [{"visit": "SCR", "procedure": p, "status": "done", "date": "2025-02-12"}
                        for p in ("hematology", "chemistry", "electrolytes", "glucose", "ecg")]}
        for i in range(300)]}
    file = tmp_path / "subjects.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    conn = service.store.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 30}")  # room for part of the import, not all
    audit_before, export_before = len(service.audit()), service.export_document()
    with pytest.raises(StoreError, match=r"The disk holding .*study.db is full\. Nothing was saved\. Free some space"):
        service.import_file(file)
    assert service.export_document() == export_before
    assert len(service.audit()) == audit_before
    assert conn.execute("SELECT count(*) FROM plan WHERE subject_id LIKE '102-%'").fetchone()[0] == 0
    assert service.verify_audit().ok
    fresh = sqlite3.connect(service.store.path)  # what another program sees
    assert integrity_problems(fresh) == []
    assert fresh.execute("SELECT count(*) FROM subjects").fetchone()[0] == 1
    fresh.close()

    conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    service.import_file(file)
    assert len(service.store.subject_ids()) == 301
    assert service.subject("102-299").visits["SCR"].date == d("2025-02-12")
    assert service.verify_audit().ok
