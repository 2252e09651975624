"""Benchmark: does `coordinator due` stay fast as the database grows?

The due list is meant to be read from the plan cache (the `plan` table, filled
on every write) through its partial indexes, not computed by running the
schedule engine over every subject on each call. If that holds, `due` on a
10,000-subject database costs little more than on a real 22-subject study,
and the big/small ratio of the medians stays near 1 (goal: <= 1.5).

What it does, in a temporary directory:
  1. builds synthetic subjects from random histories (coordinator.demo's
     story builder: cycle 1 day 1 spread over four years, treatment of 6 weeks
     to 2 years, progression, death, withdrawal, screen failures, and every
     visit up to today recorded, as at a working site), with unique ids;
  2. creates a 22-subject database (bundled protocol) and a 10,000-subject one
     (a copy of the protocol with the enrollment cap raised), each with
     `coordinator init` + `coordinator import`, and times the big import
     (goal: well under 60 s);
  3. times `coordinator due` (real CLI, subprocess, today's date) on both,
     alternating small/big after one warm-up each, and prints median and min;
  4. runs `due --json` once on each and prints the item counts (sanity), and
     times Service.open(db).due() in-process, which leaves out interpreter
     start-up and printing: this part is what grows with the number of items.

Usage: .venv/bin/python bench/due_bench.py [--quick]   (always exits 0)
"""

from __future__ import annotations

import argparse
import datetime as dt
import collections
import dataclasses
import random
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coordinator import demo, protocol, transfer
from coordinator.service import Service

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("coordinator"))
PROTOCOL = ROOT / "resources" / "protocols" / "sel-len-mm.toml"
CAP_LINE = "enrollment_cap = 22"
DISTINCT = 400  # distinct synthetic histories; larger databases repeat them under new ids
ENROLLING_DAYS = int(os.environ.get("BENCH_ENROLLING_DAYS", 1500))  # cycle 1 day 1 falls within this many days before today


def random_story(rng: random.Random) -> demo.Story:
    """A history as a working site would have it: every visit up to today recorded."""
    c1d1 = rng.randint(-ENROLLING_DAYS, 10)
    consent = c1d1 - rng.randint(10, 20)
    screened = consent + rng.randint(0, 3)
    sex = rng.choice("FM")
    fcbp = sex == "F" and rng.random() < 0.2
    if c1d1 > 0:  # screened, first dose still to come
        return demo.Story("SC", sex, fcbp, consent=consent, screened=screened)
    if rng.random() < 0.05:
        return demo.Story("SF", sex, fcbp, consent=consent, screened=screened, screen_failure=screened + 2)
    story = demo.Story("AB", sex, fcbp, consent=consent, screened=screened, c1d1=c1d1,
                       delay_cycle=rng.choice([0, 0, 2, 3, 5]), reduce_from=rng.choice([0, 0, 0, 2, 4]))
    last_dose = c1d1 + rng.randint(40, 700)
    if last_dose >= 0:
        return story  # still on treatment
    reason = rng.choice(["progression", "progression", "toxicity", "withdrawal", "investigator_decision"])
    events = [("progression", last_dose - 1)] if reason == "progression" else []
    if reason == "withdrawal":
        events.append(("withdrawal", last_dose + 1))
    elif rng.random() < 0.4:
        death = last_dose + rng.randint(60, 900)
        if death < 0:
            events.append(("death", death))
    return dataclasses.replace(story, last_dose=last_dose, eot_reason=reason, events=tuple(events))


def protocol_with_cap(folder: Path, cap: int) -> Path:
    """The bundled protocol with its enrollment cap raised to ``cap``, written in ``folder``."""
    text = PROTOCOL.read_text(encoding="utf-8")
    if CAP_LINE not in text:
        sys.exit(f"FAILED: '{CAP_LINE}' not found in {PROTOCOL}")
    path = folder / f"sel-len-mm-cap-{cap}.toml"
    path.write_text(text.replace(CAP_LINE, f"enrollment_cap = {cap}"), encoding="utf-8")
    return path


def subjects_json(count: int, proto: protocol.Protocol, today: dt.date) -> list[dict]:
    """``count`` subject objects: ``DISTINCT`` random histories, repeated under new ids."""
    rng = random.Random(7)
    templates = [transfer.subject_to_json(demo.story_subject(proto, random_story(rng), "T-0", today, rng))
                 for _ in range(min(count, DISTINCT))]
    return [{**templates[i % len(templates)], "id": f"S{i:05d}"} for i in range(count)]


def run(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([CLI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAILED ({done.returncode}): coordinator {' '.join(args)}\n{done.stderr.strip()}")
    return done


def make_db(folder: Path, name: str, subjects: list[dict], protocol_file: Path) -> tuple[Path, float]:
    db = folder / f"{name}.db"
    data = folder / f"{name}.json"
    data.write_text(json.dumps({"format": transfer.FORMAT, "subjects": subjects}), encoding="utf-8")
    run("--db", str(db), "init", "--protocol", str(protocol_file))
    start = time.perf_counter()
    run("--db", str(db), "import", str(data))
    return db, time.perf_counter() - start


def time_due(db: Path) -> float:
    start = time.perf_counter()
    run("--db", str(db), "due")
    return time.perf_counter() - start


def in_process(db: Path, repeats: int) -> float:
    """Median seconds of opening the database and computing the due list, without the CLI."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        service = Service.open(db)
        service.due()
        times.append(time.perf_counter() - start)
        service.close()
    return statistics.median(times[1:])


def verdict(ok: bool) -> str:
    return "ok" if ok else "GOAL MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 subjects and 5 repeats instead of 10,000 and 15")
    args = parser.parse_args()
    big_n, repeats = (2_000, 5) if args.quick else (10_000, 15)
    today = dt.date.today()
    proto = protocol.load(PROTOCOL)

    with tempfile.TemporaryDirectory(prefix="due_bench_") as tmp:
        folder = Path(tmp)
        big_protocol = protocol_with_cap(folder, big_n)
        start = time.perf_counter()
        subjects = subjects_json(big_n, proto, today)
        ticks = sum(len(x.get("procedures", ())) for x in subjects)
        visits = sum(len(x.get("visits", ())) for x in subjects)
        print(f"generated {big_n} subjects ({visits} visits, {ticks} checklist ticks) in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        small, _ = make_db(folder, "small", subjects[:22], PROTOCOL)
        big, import_s = make_db(folder, "big", subjects, big_protocol)
        print(f"imported {big_n} subjects in {import_s:.1f} s", flush=True)

        times: dict[Path, list[float]] = {small: [], big: []}
        for db in times:
            time_due(db)  # warm-up (disk cache, .pyc)
        for _ in range(repeats):
            for db in times:
                times[db].append(time_due(db))
        counts = {db: collections.Counter(i["status"] for i in json.loads(run("--db", str(db), "due", "--json").stdout))
                  for db in times}
        inner = {db: in_process(db, repeats) for db in times}

    med = {db: statistics.median(t) for db, t in times.items()}
    ratio = med[big] / med[small]
    print(f"\nResults ({today.isoformat()}, {repeats} repeats after 1 warm-up, Python {sys.version.split()[0]})")
    for db, n in ((small, 22), (big, big_n)):
        print(f"  due, {n:>5} subjects: median {med[db]:.3f} s (min {min(times[db]):.3f})"
              f"   in-process open+due {inner[db]:.3f} s   items {sum(counts[db].values())} "
              f"({', '.join(f'{k} {v}' for k, v in sorted(counts[db].items()))})")
    print(f"  ratio big/small   : {ratio:.2f} (goal <= 1.5)   {verdict(ratio <= 1.5)}")
    print(f"  import {big_n} subjects: {import_s:.1f} s (goal well under 60 s, taken as < 30 s)   {verdict(import_s < 30)}")
    print("  (the import is one all-or-nothing transaction: every fact, its audit row and the plan)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
