"""Benchmark: how soon is the window up, against a bare PySide6 window started the same way?

Goals (the desktop issue): the app's start on the demo database within 1.5 times a bare
PySide6 window's, and with 10,000 subjects the window usable within 2 s of start.

What it does, in a temporary directory, every process headless (QT_QPA_PLATFORM=offscreen):
  1. creates the demo database (`coordinator demo`) and a 10,000-subject one (bench/due_bench.py's
     builder: synthetic histories, every visit up to today recorded; `--quick`: 2,000);
  2. starts, in turn, after one warm-up each, `--runs` times (default 5):
       - a bare PySide6 process: QApplication + QMainWindow, shown, and a zero-time single-shot
         timer that prints and quits, as `--smoke` does (coordinator/ui/app.py);
       - `python -m coordinator --db DB open --smoke` on the demo and on the big database;
       - the app as `open` starts it, quitting once the dashboard has its rows (it loads them on a
         worker thread after the window is shown), on both databases;
     timing each from launch until its line appears on stdout ("window up", or the rows);
  3. prints median and min per case, the ratio app/bare and the 10,000-subject figures.

Python caches bytecode for these runs in the temporary folder (PYTHONPYCACHEPREFIX; the warm-up
fills it), so a PYTHONDONTWRITEBYTECODE in the environment does not turn every start into a
compile. The time to exit (closing the database, saving settings) is shown but not counted.

Usage: .venv/bin/python bench/startup_bench.py [--quick] [--runs N]   (always exits 0)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import PySide6

sys.path.insert(0, str(Path(__file__).resolve().parent))
import due_bench  # noqa: E402  (the synthetic 10,000-subject database)

from coordinator import protocol  # noqa: E402

BARE = """\
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setWindowTitle("bare")
window.show()
QTimer.singleShot(0, lambda: (print("bare: window up"), app.quit()))
sys.exit(app.exec())
"""

# 'coordinator --db DB open' (coordinator.ui.app.run), quitting once the dashboard shows its rows.
ROWS = """\
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from coordinator.ui import app

opened = app.open_window


def open_window(*args, **kwargs):
    window = opened(*args, **kwargs)
    shown = time.perf_counter()

    def on_loaded():
        print(f"rows {window.due_view.model.rowCount()} {time.perf_counter() - shown:.4f}")
        QApplication.quit()

    window.due_view.loaded.connect(on_loaded)
    return window


app.open_window = open_window
sys.exit(app.run(Path(sys.argv[1])))
"""


def launch(command: list[str], env: dict[str, str], marker: str) -> tuple[float, float, str]:
    """Seconds from launch until a stdout line contains ``marker``, seconds until the process
    ended, and that line."""
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        watchdog = threading.Timer(120, process.kill)  # a start that hangs ends the run, not the bench
        watchdog.start()
        up, found = None, ""
        try:
            for line in process.stdout:  # until the process closes its output
                if up is None and marker in line:
                    up, found = time.perf_counter() - start, line.strip()
            process.wait()
        finally:
            watchdog.cancel()
        ended = time.perf_counter() - start
        if process.returncode != 0 or up is None:
            errors.seek(0)
            sys.exit(f"FAILED ({process.returncode}): {' '.join(command)}\n{errors.read().strip()[-3000:]}")
    return up, ended, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 subjects instead of 10,000")
    parser.add_argument("--runs", type=int, default=5, help="timed starts per case, after one warm-up (default 5)")
    args = parser.parse_args()
    big_n = 2_000 if args.quick else 10_000
    today = dt.date.today()

    with tempfile.TemporaryDirectory(prefix="startup_bench_") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "COORDINATOR_DB")}
        env.update(QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1", PYTHONPYCACHEPREFIX=str(folder / "pycache"),
                   XDG_CONFIG_HOME=str(folder / "config"), XDG_DATA_HOME=str(folder / "data"))
        python = sys.executable

        demo_db = folder / "demo.db"
        made = subprocess.run([python, "-m", "coordinator", "--db", str(demo_db), "demo"],
                              env=env, capture_output=True, text=True)
        if made.returncode != 0:
            sys.exit(f"FAILED: coordinator demo\n{made.stderr.strip()}")
        print(made.stdout.strip(), flush=True)
        big_protocol = due_bench.protocol_with_cap(folder, big_n)
        start = time.perf_counter()
        subjects = due_bench.subjects_json(big_n, protocol.load(due_bench.PROTOCOL), today)
        big_db, import_s = due_bench.make_db(folder, "big", subjects, big_protocol)
        print(f"built the {big_n}-subject database in {time.perf_counter() - start:.1f} s (import {import_s:.1f} s)",
              flush=True)
        bare = folder / "bare.py"
        bare.write_text(BARE, encoding="utf-8")
        rows = folder / "rows.py"
        rows.write_text(ROWS, encoding="utf-8")

        demo_label, big_label = "app, demo database", f"app, {big_n} subjects"
        cases = {
            ("up", "bare PySide6 window"): ([python, str(bare)], "window up"),
            ("up", demo_label): ([python, "-m", "coordinator", "--db", str(demo_db), "open", "--smoke"], "window up"),
            ("up", big_label): ([python, "-m", "coordinator", "--db", str(big_db), "open", "--smoke"], "window up"),
            ("rows", demo_label): ([python, str(rows), str(demo_db)], "rows "),
            ("rows", big_label): ([python, str(rows), str(big_db)], "rows "),
        }
        results: dict[tuple[str, str], list[tuple[float, float, str]]] = {case: [] for case in cases}
        for command, marker in cases.values():
            launch(command, env, marker)  # warm-up: bytecode cache, disk cache
        for _ in range(args.runs):
            for case, (command, marker) in cases.items():
                results[case].append(launch(command, env, marker))

    def median(case, index=0):
        return statistics.median(r[index] for r in results[case])

    print(f"\nResults ({today.isoformat()}, {args.runs} runs after 1 warm-up, Python {sys.version.split()[0]}, "
          f"PySide6 {PySide6.__version__}, QT_QPA_PLATFORM=offscreen)")
    def extra(case) -> str:  # what each kind of case adds to its line
        if case[0] == "up":
            return f"process exit {median(case, 1):.3f} s"
        after = statistics.median(float(r[2].split()[2]) for r in results[case])
        return f"of which window shown -> rows {after:.3f} s   ({results[case][0][2].split()[1]} rows)"

    for kind, heading in (("up", "launch -> window up (smoke)"),
                          ("rows", "launch -> dashboard rows shown (the rows load on a worker thread after the window shows)")):
        print(f"  {heading}")
        for case in (c for c in cases if c[0] == kind):
            print(f"    {case[1]:<22} median {median(case):.3f} s (min {min(r[0] for r in results[case]):.3f})"
                  f"   {extra(case)}")
    ratio = median(("up", demo_label)) / median(("up", "bare PySide6 window"))
    big_up, big_rows = median(("up", big_label)), median(("rows", big_label))
    verdict = due_bench.verdict
    print(f"  {'ratio app (demo) / bare window':<32}: {ratio:.2f} (goal <= 1.5)   {verdict(ratio <= 1.5)}")
    print(f"  {f'{big_n} subjects, window up':<32}: {big_up:.3f} s (goal <= 2 s)   {verdict(big_up <= 2)}")
    print(f"  {f'{big_n} subjects, dashboard rows':<32}: {big_rows:.3f} s (goal <= 2 s)   {verdict(big_rows <= 2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
