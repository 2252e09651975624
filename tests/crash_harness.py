"""Kill a writing process at random moments and check the database after each kill.

Shared by ``tests/test_crash.py`` (a short run in CI) and ``bench/crash_run.py`` (1,000 kills).
``run`` starts ``crash_writer.py random`` on one database again and again, lets it write for a
random time, SIGKILLs it, and checks, through fresh connections:

- the file opens, ``PRAGMA integrity_check`` says ok and no foreign key dangles;
- ``Service.verify_audit()`` finds the hash chain intact;
- every write the writer acknowledged (``ACK``) is there with its values: the subjects are
  compared, field by field, with a model built from every ``ACK`` since the database was made;
- the write the kill interrupted (``BEGIN`` without ``ACK``) is there whole or not at all: an
  import's subjects all or none, a subject's facts as before it or as after it, nothing between;
- the audit trail agrees with the subjects table: replaying its rows (each subject's first row,
  then each changed field) gives every subject's facts exactly;
- the plan cache of each subject written holds the plan built from its facts.

The subjects written in the round are compared each time, and the row counts of the fact
tables; every subject every ``full_every`` kills and after the last.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coordinator import transfer
from coordinator.db.store import integrity_problems
from coordinator.schedule import build_plan
from coordinator.service import Service

WRITER = Path(__file__).with_name("crash_writer.py")
TODAY = dt.date(2026, 1, 15)  # the writer's
KEYED = {"visits": lambda x: x["visit"], "procedures": lambda x: f"{x['visit']}.{x['procedure']}",
         "events": lambda x: x["type"], "dose_changes": lambda x: f"{x['drug']}.from_cycle_{x['from_cycle']}"}
JSON_FIELDS = {"screen_failure", "steroid", "childbearing_potential"}  # audit values stored as JSON text
START_TIMEOUT_S = 30.0


@dataclass
class Counts:
    kills: int = 0
    kills_after_ack: int = 0  # the writer had acknowledged at least one write when it was killed
    kills_before_ready: int = 0  # killed while starting up or opening the database
    kills_mid_write: int = 0  # killed between a write's BEGIN and its ACK
    mid_write_committed: int = 0  # ... and the write was in the database (committed, not yet acknowledged)
    mid_write_rolled_back: int = 0  # ... and nothing of it was
    mid_write_no_change: int = 0  # ... a write that changed nothing (a tick as it already was): cannot tell
    acked_writes: int = 0  # writes acknowledged, each checked after its kill and again at every full check
    acked_imports: int = 0
    full_checks: int = 0
    subjects: int = 0  # in the database at the end
    audit_rows: int = 0
    db_bytes: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"kills:                          {self.kills}",
            f"  after at least one ACK:       {self.kills_after_ack}",
            f"  before the writer was ready:  {self.kills_before_ready}",
            f"  mid-write (BEGIN, no ACK):    {self.kills_mid_write}"
            f" (committed {self.mid_write_committed}, rolled back {self.mid_write_rolled_back},"
            f" changed nothing {self.mid_write_no_change})",
            f"acknowledged writes checked:    {self.acked_writes} (imports {self.acked_imports})",
            f"full checks (every subject):    {self.full_checks}",
            f"database at the end:            {self.subjects} subjects, {self.audit_rows} audit rows,"
            f" {self.db_bytes / 1e6:.1f} MB",
            f"failures:                       {len(self.failures)}",
        ]
        return "\n".join(lines + [f"  - {problem}" for problem in self.failures])


class CheckFailed(Exception):
    pass


def flat(subject_json: dict) -> dict:
    """A subject's exported facts keyed as the audit trail names them (``visits.C1D8``,
    ``procedures.SCR.hematology``, ``initials``)."""
    out = {}
    for key, value in subject_json.items():
        if key in KEYED:
            out.update((f"{key}.{KEYED[key](item)}", item) for item in value)
        else:
            out[key] = value
    return out


def apply_op(model: dict[str, dict], op: dict) -> None:
    """What the database holds after the write ``op`` (an ``ACK`` or ``BEGIN`` line's operation)."""
    kind = op["op"]
    if kind == "import":
        for item in op["subjects"]:
            model[item["id"]] = flat(item)
        return
    facts = model[op["subject"]]
    if kind == "tick":
        value = {"visit": op["visit"], "procedure": op["procedure"], "status": op["status"]}
        if op["date"]:
            value["date"] = op["date"]
        if op["why"]:
            value["reason"] = op["why"]
        facts[f"procedures.{op['visit']}.{op['procedure']}"] = value
    elif kind in ("record_visit", "add_unscheduled"):
        code = op["visit"] if kind == "record_visit" else next_unscheduled(facts)
        if "code" in op and op["code"] != code:
            raise CheckFailed(f"write #{op['n']}: the service numbered the unscheduled visit {op['code']}, "
                              f"expected {code}")
        value = {"visit": code, "date": op["date"]}
        if op["notes"]:
            value["notes"] = op["notes"]
        facts[f"visits.{code}"] = value
    elif kind == "edit_subject":
        for key, value in op["fields"].items():
            if value is None:
                facts.pop(key, None)
            else:
                facts[key] = value
    else:
        raise CheckFailed(f"unknown operation {kind!r}")


def next_unscheduled(facts: dict) -> str:
    numbers = [int(key[len("visits.UNS"):]) for key in facts if key.startswith("visits.UNS")]
    return f"UNS{max(numbers, default=0) + 1}"


def op_subjects(op: dict) -> list[str]:
    return [item["id"] for item in op["subjects"]] if op["op"] == "import" else [op["subject"]]


def audit_value(field_name: str, text: str | None):
    if text is None:
        return None
    if field_name.split(".")[0] in KEYED or field_name in JSON_FIELDS:
        return json.loads(text)
    return text


class Checker:
    """The model of what the database must hold, and the audit trail replayed so far."""

    def __init__(self, path: Path):
        self.path = path
        self.model: dict[str, dict] = {}
        self.replayed: dict[str, dict] = {}
        self.last_seq = 0

    def start(self) -> None:
        """Take the database as it is (new, or left by an earlier run) as the model's start."""
        service = Service.open(self.path, user="checker", today=TODAY)
        try:
            self.model = {s.id: flat(transfer.subject_to_json(s)) for s in service.store.load_subjects()}
        finally:
            service.close()

    def check(self, acked: list[dict], pending: dict | None, counts: Counts, full: bool) -> None:
        """Raise ``CheckFailed`` at the first problem."""
        conn = sqlite3.connect(self.path)
        try:
            integrity = integrity_problems(conn) or ["ok"]
            if integrity != ["ok"]:
                raise CheckFailed(f"integrity_check: {'; '.join(integrity[:5])}")
            dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
            if dangling:
                raise CheckFailed(f"foreign_key_check: {dangling[:5]}")
        finally:
            conn.close()
        service = Service.open(self.path, user="checker", today=TODAY)
        try:
            self._check_service(service, acked, pending, counts, full)
        finally:
            service.close()

    def _check_service(self, service: Service, acked: list[dict], pending: dict | None, counts: Counts, full: bool) -> None:
        report = service.verify_audit()
        if not report.ok:
            raise CheckFailed(report.summary())
        for op in acked:
            apply_op(self.model, op)
        touched = {sid for op in acked for sid in op_subjects(op)}
        store = service.store
        ids = set(store.subject_ids())
        if pending is not None and self._settle(pending, ids, store, counts):
            touched.update(op_subjects(pending))
        if ids != set(self.model):
            missing, extra = sorted(set(self.model) - ids), sorted(ids - set(self.model))
            raise CheckFailed(f"subjects acknowledged but missing: {missing[:5]}; in the database but never written: {extra[:5]}")
        self._check_counts(store)
        new_rows = self._replay(store)
        compare = set(self.model) if full else touched | new_rows
        subjects = {s.id: s for s in store.load_subjects_by_id(compare)}
        for sid in sorted(compare):
            got = flat(transfer.subject_to_json(subjects[sid]))
            if got != self.model[sid]:
                raise CheckFailed(f"{sid}: the database holds {_difference(self.model[sid], got)}")
            if self.replayed.get(sid) != got:
                raise CheckFailed(f"{sid}: the audit trail replays to {_difference(got, self.replayed.get(sid) or {})}")
        if full and set(self.replayed) != set(self.model):
            raise CheckFailed(f"audit trail subjects differ: {sorted(set(self.replayed) ^ set(self.model))[:5]}")
        for sid in sorted(touched):
            if store.plan(sid) != build_plan(service.protocol, subjects[sid]):
                raise CheckFailed(f"{sid}: the plan cache is not the plan of its facts")
        counts.acked_writes += len(acked)
        counts.acked_imports += sum(op["op"] == "import" for op in acked)
        counts.full_checks += full
        counts.subjects, counts.audit_rows = len(ids), report.rows

    def _settle(self, pending: dict, ids: set[str], store, counts: Counts) -> bool:
        """The interrupted write: all there (then it joins the model; returns True) or none of it."""
        counts.kills_mid_write += 1
        sids = op_subjects(pending)
        if pending["op"] == "import":
            present = [sid for sid in sids if sid in ids]
            if present and len(present) != len(sids):
                raise CheckFailed(f"import #{pending['n']} half-done: {len(present)} of its {len(sids)} subjects saved")
            committed = bool(present)
            if committed:
                apply_op(self.model, pending)
        else:
            sid = sids[0]
            before = self.model[sid]
            after_model = {sid: copy.deepcopy(before)}
            apply_op(after_model, pending)
            after = after_model[sid]
            got = flat(transfer.subject_to_json(store.load_subject(sid)))
            if before == after:
                counts.mid_write_no_change += 1
                return False
            if got not in (before, after):
                raise CheckFailed(f"write #{pending['n']} ({pending['op']} of {sid}) half-done: "
                                  f"{_difference(before, got)}")
            committed = got == after
            if committed:
                self.model[sid] = after
        if committed:
            counts.mid_write_committed += 1
        else:
            counts.mid_write_rolled_back += 1
        return committed

    def _check_counts(self, store) -> None:
        for table in ("visits", "procedures"):
            expected = sum(key.startswith(f"{table}.") for facts in self.model.values() for key in facts)
            got = store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if got != expected:
                raise CheckFailed(f"{table}: {got} rows, {expected} acknowledged")

    def _replay(self, store) -> set[str]:
        """Apply the audit rows written since the last check; returns the subjects they name."""
        named = set()
        rows = store.conn.execute("SELECT seq, subject_id, field, new FROM audit WHERE seq > ? ORDER BY seq",
                                  (self.last_seq,)).fetchall()
        for seq, sid, field_name, new in rows:
            self.last_seq = seq
            if sid is None:
                continue
            named.add(sid)
            if field_name == "subject":
                if sid in self.replayed:
                    raise CheckFailed(f"audit row #{seq} creates {sid} a second time")
                self.replayed[sid] = flat(json.loads(new))
                continue
            if sid not in self.replayed:
                raise CheckFailed(f"audit row #{seq} changes {sid}, which it never created")
            value = audit_value(field_name, new)
            if value is None:
                self.replayed[sid].pop(field_name, None)
            else:
                self.replayed[sid][field_name] = value
        unknown = sorted(named - set(self.model))
        if unknown:
            raise CheckFailed(f"audit rows name subjects never written: {unknown[:5]}")
        return named


def _difference(expected: dict, got: dict) -> str:
    keys = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
    return "; ".join(f"{k}: {got.get(k)!r} where {expected.get(k)!r} was expected" for k in keys[:3]) or "no difference"


def read_lines(path: Path) -> tuple[list[dict], dict | None, bool, str | None]:
    """The writer's acknowledged operations, the one it began and did not acknowledge, whether
    it was ready, and its error line if any. A line cut short by the kill does not count."""
    complete = path.read_bytes().split(b"\n")[:-1]
    acked, begun, ready, error = [], {}, False, None
    for raw in complete:
        kind, _, payload = raw.decode().partition(" ")
        if kind == "READY":
            ready = True
        elif kind == "BEGIN":
            op = json.loads(payload)
            begun[op["n"]] = op
        elif kind == "ACK":
            op = json.loads(payload)
            begun.pop(op["n"], None)
            acked.append(op)
        elif kind == "ERROR":
            error = payload
    if len(begun) > 1:
        raise CheckFailed(f"the writer began {len(begun)} writes without acknowledging them")
    return acked, next(iter(begun.values()), None), ready, error


def run(db_path: str | Path, kills: int, seed: int, delay: tuple[float, float] = (0.02, 0.4), early: float = 0.05,
        full_every: int = 25, progress: Callable[[int, Counts], None] | None = None) -> Counts:
    """Kill the writer ``kills`` times; ``delay``: how long it writes once ready (seconds, uniform);
    ``early``: the share of kills made instead at a random moment of its start-up."""
    db_path = Path(db_path)
    rng = random.Random(seed)
    if not db_path.exists():
        Service.create(db_path, user="harness", today=TODAY).close()
    checker = Checker(db_path)
    counts = Counts()
    out_path, err_path = db_path.with_name(db_path.name + ".writer.out"), db_path.with_name(db_path.name + ".writer.err")
    keeper = None  # a connection left open, some of the time, so the WAL is not reset between writers
    try:
        checker.start()
        checker.check([], None, counts, full=True)  # replays the audit trail so far
        counts.full_checks = 0
        for i in range(kills):
            if rng.random() < 0.1:
                if keeper is None:
                    keeper = sqlite3.connect(db_path)
                    keeper.execute("SELECT count(*) FROM meta").fetchall()
                else:
                    keeper.close()
                    keeper = None
            try:
                _one_kill(db_path, checker, counts, rng, out_path, err_path, delay, early,
                          full=(i + 1) % full_every == 0 or i == kills - 1)
            except CheckFailed as exc:
                counts.failures.append(f"kill {i + 1}: {exc}")
                break  # the model no longer says what the database should hold
            if progress is not None:
                progress(i + 1, counts)
    finally:
        if keeper is not None:
            keeper.close()
    counts.db_bytes = db_path.stat().st_size
    return counts


def _one_kill(db_path: Path, checker: Checker, counts: Counts, rng: random.Random, out_path: Path, err_path: Path,
              delay: tuple[float, float], early: float, full: bool) -> None:
    writer_seed = rng.randrange(2 ** 31)
    wait = rng.uniform(*delay)
    at_start = rng.random() < early
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(WRITER), "random", str(db_path), str(writer_seed)], stdout=out, stderr=err)
    try:
        if at_start:
            time.sleep(rng.uniform(0, 0.15))
        else:
            deadline = time.monotonic() + START_TIMEOUT_S
            while b"READY" not in out_path.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.001)
            time.sleep(wait)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    counts.kills += 1
    acked, pending, ready, error = read_lines(out_path)
    if proc.returncode != -signal.SIGKILL or error is not None:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise CheckFailed(f"the writer (seed {writer_seed}) stopped by itself ({proc.returncode}): {error or ''} {' | '.join(tail)}")
    counts.kills_after_ack += bool(acked)
    counts.kills_before_ready += not ready
    checker.check(acked, pending, counts, full)
