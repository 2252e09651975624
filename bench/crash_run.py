"""Crash safety: kill a writing process 1,000 times and check the database after every kill.

What it does, in a temporary folder (or on --db, created when missing, kept afterwards):
  1. creates a database of the bundled protocol;
  2. again and again, starts tests/crash_writer.py on it, which makes valid random writes
     (imports of 2-6 subjects, ticks, visits, unscheduled visits, edits) as fast as they go and
     prints BEGIN before each and ACK once the service has returned; lets it write for 20-400 ms
     (a seeded random time; 5 % of the kills are made during its start-up instead) and SIGKILLs it;
  3. after each kill checks (tests/crash_harness.py): the file opens, PRAGMA integrity_check is ok,
     the audit hash chain verifies, every acknowledged write is there with its values, the write
     the kill interrupted is there whole or not at all (an import all or nothing), replaying the
     audit trail gives the subjects table, and each written subject's plan cache is its plan.

The database is reused across kills, so later kills hit a bigger database. Prints progress every
100 kills, then the counts and the time; exits 1 on any failure.

Usage: .venv/bin/python bench/crash_run.py [--kills 1000] [--seed 1] [--db PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import crash_harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="database to use (created when missing, kept); default: a temporary one")
    args = parser.parse_args()
    start = time.perf_counter()

    def progress(done: int, counts: crash_harness.Counts) -> None:
        if done % 100 == 0:
            print(f"{done:>5} kills  {time.perf_counter() - start:7.1f} s  {counts.subjects} subjects, "
                  f"{counts.audit_rows} audit rows, {counts.acked_writes} acknowledged writes", flush=True)

    with tempfile.TemporaryDirectory(prefix="crash_run_") as tmp:
        db = args.db or Path(tmp) / "crash.db"
        print(f"{args.kills} kills, seed {args.seed}, database {db}", flush=True)
        counts = crash_harness.run(db, args.kills, args.seed, progress=progress)
    elapsed = time.perf_counter() - start
    print()
    print(counts.summary())
    print(f"elapsed:                        {elapsed:.1f} s ({elapsed / max(1, counts.kills):.2f} s a kill, "
          f"Python {sys.version.split()[0]})")
    print("OK" if not counts.failures else "FAILED")
    return 1 if counts.failures else 0


if __name__ == "__main__":
    sys.exit(main())
