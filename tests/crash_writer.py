"""A writing process for the crash and concurrency tests (a script: pytest does not collect it).

    python tests/crash_writer.py random DB SEED
    python tests/crash_writer.py worker DB NAME --slot K --shared ID --own ID --writes N [--busy-ms MS] [--pause-ms MS]
                                        [--go FILE] [--stop FILE]

``random`` writes until it is killed: imports of 2-6 new synthetic subjects, ticks, visits,
unscheduled visits and edits of existing subjects, all valid for the bundled protocol. Before each
write it prints ``BEGIN <json>``, and once the service has returned (the transaction committed)
``ACK <json>``: the same operation, which ``crash_harness`` turns into what the database must now
hold. ``worker`` makes a fixed series of writes to one subject of its own and to one shared with
other workers (``tests/test_concurrency.py``), printing ``ACK`` for each saved write and ``BUSY``
for each refused with a ``StoreError``. Each line is flushed at once; an unexpected error prints
``ERROR`` and exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
import time
from pathlib import Path

from coordinator import transfer
from coordinator.errors import StoreError
from coordinator.model import Subject
from coordinator.service import Service

TODAY = dt.date(2026, 1, 15)  # fixed, as in tests/helpers.py, so a seed always writes the same
FIRST_CONSENT = dt.date(2024, 1, 1)
LAST_CONSENT = dt.date(2025, 11, 30)
STARTED_LIMIT = 18  # subjects given a first dose by imports: under the protocol's cap of 22
ID_PATTERN = re.compile(r"X(\d{6})")
REASON = "crash test correction"


def say(kind: str, payload: dict | None = None) -> None:
    sys.stdout.write(kind if payload is None else f"{kind} {json.dumps(payload, sort_keys=True)}")
    sys.stdout.write("\n")
    sys.stdout.flush()


def day_between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def plain_procedures(service: Service, visit: str) -> list[str]:
    """The visit's procedures that apply to everyone (no condition such as FCBP or on request)."""
    return [p.id for p in service.protocol.procedures_at(service.protocol.parse_visit(visit)) if not p.condition]


class RandomWriter:
    """Valid random writes to the subjects of one database, as one coordinator would make them."""

    def __init__(self, service: Service, seed: int):
        self.service = service
        self.rng = random.Random(seed)
        self.ids = service.store.subject_ids()
        numbers = [int(m[1]) for sid in self.ids if (m := ID_PATTERN.fullmatch(sid))]
        self.next_number = max(numbers, default=0) + 1
        self.started = service.store.count_started()
        self.n = 0

    def run(self, limit: int | None = None) -> None:
        while limit is None or self.n < limit:
            op = self.choose()
            self.n += 1
            op["n"] = self.n
            say("BEGIN", op)
            result = self.apply(op)
            say("ACK", {**op, **result})

    def choose(self) -> dict:
        roll = self.rng.random()
        if not self.ids or roll < 0.08:
            return self.new_import()
        sid = self.rng.choice(self.ids)
        subject = self.service.subject(sid)
        if roll < 0.45:
            return self.new_tick(subject)
        if roll < 0.62:
            return self.new_visit(subject)
        if roll < 0.80 and sum(code.startswith("UNS") for code in subject.visits) < 900:
            return {"op": "add_unscheduled", "subject": sid, "date": self.any_day(subject).isoformat(),
                    "notes": self.rng.choice(["", "fever", "unplanned labs", "fall at home"])}
        return self.new_edit(subject)

    def any_day(self, subject: Subject) -> dt.date:
        return day_between(self.rng, subject.consent_date, TODAY)

    def new_import(self) -> dict:
        subjects = []
        for _ in range(self.rng.randint(2, 6)):
            sid = f"X{self.next_number:06d}"
            self.next_number += 1
            subjects.append(transfer.subject_to_json(self.new_subject(sid)))
        return {"op": "import", "subjects": subjects}

    def new_subject(self, sid: str) -> Subject:
        rng = self.rng
        consent = day_between(rng, FIRST_CONSENT, LAST_CONSENT)
        sex = rng.choice("FM")
        facts: dict = {}
        if rng.random() < 0.5:
            facts["planned_c1d1"] = consent + dt.timedelta(days=rng.randint(1, 60))
        if self.started < STARTED_LIMIT and rng.random() < 0.1:
            facts["c1d1"] = consent + dt.timedelta(days=rng.randint(3, 28))
            self.started += 1
        if rng.random() < 0.3:
            facts["mrn"] = f"MRN{rng.randint(100000, 999999)}"
        subject = Subject(id=sid, initials=rng.choice(["AB", "CDE", "F-G", "HIJK", "L"]), sex=sex,
                          birth_date=consent - dt.timedelta(days=rng.randint(20 * 365, 85 * 365)), consent_date=consent,
                          childbearing_potential=rng.random() < 0.3 if sex == "F" else False, **facts)
        return subject

    def new_tick(self, subject: Subject) -> dict:
        rng = self.rng
        visit = "C1D8" if subject.c1d1 is not None and rng.random() < 0.5 else "SCR"
        status = rng.choice(["done", "done", "done", "not_done", "not_applicable"])
        day = self.any_day(subject) if rng.random() < 0.6 else None
        return {"op": "tick", "subject": subject.id, "visit": visit,
                "procedure": rng.choice(plain_procedures(self.service, visit)), "status": status,
                "date": day and day.isoformat(), "why": "sample lost" if status == "not_done" else ""}

    def new_visit(self, subject: Subject) -> dict:
        rng = self.rng
        if subject.c1d1 is not None and rng.random() < 0.5:
            visit, day = "C1D8", day_between(rng, subject.c1d1 + dt.timedelta(days=1),
                                            min(TODAY, subject.c1d1 + dt.timedelta(days=10)))
        else:
            last = subject.c1d1 - dt.timedelta(days=1) if subject.c1d1 else TODAY
            visit, day = "SCR", day_between(rng, subject.consent_date, last)
        return {"op": "record_visit", "subject": subject.id, "visit": visit, "date": day.isoformat(),
                "notes": rng.choice(["", "", "on time", "came in late"])}

    def new_edit(self, subject: Subject) -> dict:
        rng = self.rng
        if rng.random() < 0.5:
            fields = {"initials": "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(rng.randint(1, 4)))}
        else:
            fields = {"planned_c1d1": (subject.consent_date + dt.timedelta(days=rng.randint(1, 120))).isoformat()}
        return {"op": "edit_subject", "subject": subject.id, "fields": fields}

    def apply(self, op: dict) -> dict:
        """Make the write through the service; returns what the ACK adds to the operation."""
        s = self.service
        day = dt.date.fromisoformat(op["date"]) if op.get("date") else None
        if op["op"] == "import":
            subjects = [transfer.subject_from_json(item) for item in op["subjects"]]
            s.import_subjects(subjects, source=f"crash writer #{op['n']}")
            self.ids += [subject.id for subject in subjects]
            return {}
        if op["op"] == "tick":
            s.tick(op["subject"], op["visit"], op["procedure"], op["status"], day, op["why"], REASON)
            return {}
        if op["op"] == "record_visit":
            s.record_visit(op["subject"], op["visit"], day, op["notes"], REASON)
            return {}
        if op["op"] == "add_unscheduled":
            _, code = s.add_unscheduled(op["subject"], day, op["notes"])
            return {"code": code}
        if op["op"] == "edit_subject":
            fields = {k: dt.date.fromisoformat(v) if k == "planned_c1d1" else v for k, v in op["fields"].items()}
            s.edit_subject(op["subject"], REASON, **fields)
            return {}
        raise ValueError(op["op"])


def worker(service: Service, name: str, slot: int, shared: str, own: str, writes: int, go: Path | None,
           stop: Path | None, pause_ms: float = 0) -> None:
    """A fixed series of writes, each after a random pause of up to ``pause_ms``: unscheduled visits
    on the shared subject and on its own, ticks of the shared subject's screening procedures
    (``procedures``: this worker's, no other's), and its own subject's screening visit moved day
    by day. The pause matters: SQLite's busy handler is not fair, and a writer that writes back to
    back can keep the lock from a waiting one past its busy timeout."""
    procedures = plain_procedures(service, "SCR")
    procedures = procedures[slot % 3::3]  # each worker ticks its own third of them
    rng = random.Random(slot)
    say("READY")
    while go is not None and not go.exists():
        time.sleep(0.001)
    k = 0
    while k < writes or (stop is not None and not stop.exists()):
        day = dt.date(2025, 3, 1) + dt.timedelta(days=k % 300)
        kind = k % 4
        if kind in (0, 1):
            op = {"op": "add_unscheduled", "subject": shared if kind == 0 else own, "date": day.isoformat(),
                  "notes": f"{name} #{k}"}
        elif kind == 2:
            op = {"op": "tick", "subject": shared, "visit": "SCR", "procedure": procedures[(k // 4) % len(procedures)],
                  "status": "done", "date": day.isoformat(), "why": ""}
        else:
            op = {"op": "record_visit", "subject": own, "visit": "SCR", "date": day.isoformat(), "notes": f"{name} #{k}"}
        op["n"] = k
        started = time.monotonic()
        try:
            if op["op"] == "add_unscheduled":
                change, code = service.add_unscheduled(op["subject"], day, op["notes"])
                op["code"] = code
            elif op["op"] == "tick":
                change = service.tick(shared, "SCR", op["procedure"], "done", day, "", REASON)
            else:
                change = service.record_visit(own, "SCR", day, op["notes"], REASON)
        except StoreError as exc:
            cause = exc.__cause__
            say("BUSY", {**op, "message": str(exc), "sqlite": getattr(cause, "sqlite_errorname", repr(cause)),
                         "waited": round(time.monotonic() - started, 3)})
        else:
            say("ACK", {**op, "changed": bool(change.subject_ids)})
        k += 1
        if pause_ms:
            time.sleep(rng.uniform(0, pause_ms) / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("random")
    r.add_argument("db")
    r.add_argument("seed", type=int)
    r.add_argument("--writes", type=int, default=None, help="stop after this many writes (default: until killed)")
    w = sub.add_parser("worker")
    w.add_argument("db")
    w.add_argument("name")
    w.add_argument("--slot", type=int, default=0, help="0, 1 or 2: which third of the shared ticks is this worker's")
    w.add_argument("--shared", required=True)
    w.add_argument("--own", required=True)
    w.add_argument("--writes", type=int, required=True)
    w.add_argument("--busy-ms", type=int, default=None, help="this worker's busy timeout (default: the store's)")
    w.add_argument("--go", type=Path, help="start writing once this file exists")
    w.add_argument("--stop", type=Path, help="after --writes, go on writing until this file exists")
    w.add_argument("--pause-ms", type=float, default=0, help="pause up to this long between writes (default: none)")
    args = parser.parse_args(argv)
    try:
        if args.mode == "random":
            service = Service.open(args.db, user="writer", today=TODAY)
            say("READY", {"subjects": len(service.store.subject_ids())})
            RandomWriter(service, args.seed).run(args.writes)
        else:
            service = Service.open(args.db, user=args.name, today=TODAY)
            if args.busy_ms is not None:
                service.store.conn.execute(f"PRAGMA busy_timeout = {args.busy_ms}")
            worker(service, args.name, args.slot, args.shared, args.own, args.writes, args.go, args.stop, args.pause_ms)
        service.close()
    except Exception as exc:
        say("ERROR", {"error": repr(exc)})
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
