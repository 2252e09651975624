"""Benchmark: a 100-page day packet against reportlab's floor for as many plain pages.

Goal (issue 4, "Speed"): `Service.day_packet_pdf(on)` for a day whose packet comes to about 100
pages takes at most 1.5 times what reportlab alone takes to lay out and write the same number
of plain pages, each with one table and one barcode.

What it does, in a temporary directory:
  1. builds a database (bundled protocol, enrollment cap raised) of synthetic subjects on
     treatment, each with every visit before the packet day recorded and its checklist ticked
     (coordinator.demo's story builder), their first doses spread so that one of their visits
     (cycle 1 days 8/15/22, later days 1 and 22) targets the packet day; some have a delayed
     cycle, some a selinexor dose reduction, 70 % a steroid. Subjects are imported a few at a
     time until the packet's visits (Service.day_packet, the service's own choice) come to
     --pages pages (default 100): a requisition page per destination of each visit, and a
     dosing calendar for each day 1;
  2. builds the packet once and counts its pages (pdfinfo, else the PDF's page objects), then
     makes the floor for exactly that many pages: SimpleDocTemplate on the forms' A4 page and
     margins (coordinator/forms/common.py), each page one 10 x 4 Table of short text with a
     grid and a shaded header row, one Code 128 barcode with its text, and a PageBreak;
  3. after one warm-up each, times both in the same process, alternating, --runs times
     (default 5), and prints the medians, the minima and the ratio packet/floor;
  4. with --profile, runs cProfile over one more packet build and prints where its time goes.

The packet is timed as the app calls it: from the open database (subjects and plans read,
checklists computed) to the PDF's bytes. The floor has no database and no domain logic.

Usage: .venv/bin/python bench/packet_bench.py [--runs N] [--pages N] [--profile]   (always exits 0)
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

from coordinator import demo, protocol
from coordinator.forms import common
from coordinator.forms.common import MARGIN, PAGE
from coordinator.forms.requisition import ordered
from coordinator.service import Service

sys.path.insert(0, str(Path(__file__).resolve().parent))
from due_bench import PROTOCOL, protocol_with_cap, verdict  # noqa: E402  (the benches' protocol and their verdict)

ON = dt.date(2026, 3, 2)  # the packet's day (a Monday); fixed, so every run builds the same database
GOAL = 1.5
BATCH = 4  # subjects imported at a time while the packet grows to its size


# -- the database -------------------------------------------------------------------------------------
def treatment_story(rng: random.Random) -> demo.Story:
    """A subject on treatment, one of whose visits targets the packet day. Offsets count from the
    day before it, the story's "today" (every visit targeted before then is recorded)."""
    sex = rng.choice("FM")
    fcbp = sex == "F" and rng.random() < 0.25
    initials = "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(3))
    if rng.random() < 0.15:  # cycle 1 days 8, 15, 22 (every 7 days)
        cycle, day = 1, rng.choice([8, 15, 22])
    else:  # later cycles: days 1 and 22
        cycle, day = rng.randint(2, 14), rng.choice([1, 1, 22])
    c1d1 = 1 - (28 * (cycle - 1) + day - 1)
    delay = 0
    if cycle > 2 and rng.random() < 0.15:  # one earlier cycle started 5 days late: this one is 5 days later too
        delay = rng.randint(2, cycle - 1)
        c1d1 -= 5
    reduce_from = rng.randint(2, cycle) if cycle > 1 and rng.random() < 0.25 else 0
    return demo.Story(initials, sex, fcbp, consent=c1d1 - rng.randint(12, 25), screened=c1d1 - rng.randint(8, 11),
                      c1d1=c1d1, delay_cycle=delay, reduce_from=reduce_from)


def expected_pages(service: Service) -> int:
    """The pages of the packet on ``ON`` as the service picks its visits: a requisition page per
    destination of each visit, and a dosing calendar for each cycle's day 1."""
    pages = 0
    for subject_id, code in service.day_packet(ON):
        visit = service.planned_visit(subject_id, code, ON)
        pages += len(ordered(service.protocol, service.subject(subject_id), visit))
        pages += visit.kind == "cycle" and visit.day == 1
    return pages


def build_database(folder: Path, target_pages: int) -> tuple[Service, int, int]:
    """A database whose packet on ``ON`` comes to about ``target_pages`` (subjects are imported
    BATCH at a time until it does); (service, subjects, expected pages)."""
    proto = protocol.load(PROTOCOL)
    service = Service.create(folder / "bench.db", protocol_with_cap(folder, 100_000), user="bench", today=ON)
    service.set_site("Synthetic University Hospital, Haematology Day Unit")
    rng = random.Random(4)
    today = ON - dt.timedelta(days=1)  # every visit targeted before the packet day is recorded
    count = pages = 0
    while pages < target_pages:
        batch = [demo.story_subject(proto, treatment_story(rng), f"B{count + i:04d}", today, rng) for i in range(BATCH)]
        service.import_subjects(batch)
        count += len(batch)
        pages = expected_pages(service)
        if count > 100 * target_pages:
            sys.exit(f"FAILED: {count} subjects and the packet is still {pages} pages")
    return service, count, pages


# -- the floor -------------------------------------------------------------------------------------------
FLOOR_STYLE = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                          ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9), ("FONT", (0, 1), (-1, -1), "Helvetica", 9)])


def floor_pdf(pages: int) -> bytes:
    """``pages`` plain A4 pages, each one 10 x 4 table of short text and one Code 128 barcode."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title="floor")
    story = []
    for page in range(pages):
        rows = [["Test", "Specimen", "Container", "Done"]] + [
            [f"Test {page}.{row}", "Serum", "SST (gold top)", "[ ]"] for row in range(1, 10)]
        story += [Code128(f"B{page:04d}-C2D1-20260302", barHeight=12 * mm, barWidth=0.27 * mm, humanReadable=True),
                  Spacer(1, 4 * mm), Table(rows, style=FLOOR_STYLE), PageBreak()]
    doc.build(story[:-1])
    return out.getvalue()


# -- measuring -------------------------------------------------------------------------------------------
def page_count(pdf: bytes, folder: Path) -> int:
    if shutil.which("pdfinfo"):
        path = folder / "count.pdf"
        path.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    return len(re.findall(rb"/Type /Page\b", pdf))


def timed(make) -> float:
    start = time.perf_counter()
    make()
    return time.perf_counter() - start


class BuildClock:
    """Times the calls of ``coordinator.forms.common.build`` (reportlab laying out the story and
    writing the PDF) made inside the block, so the packet's time splits into reportlab's part and
    the rest (reading subjects and plans, checklists, making the flowables, fitting the dosing page).
    ``calls`` stays 0 if the packet no longer goes through ``common.build``."""

    def __enter__(self) -> BuildClock:
        self.seconds, self.calls, self._original = 0.0, 0, common.build

        def build(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self._original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        common.build = build
        return self

    def __exit__(self, *exc) -> None:
        common.build = self._original


def timed_packet(service: Service) -> tuple[float, float | None]:
    """Seconds of the whole ``day_packet_pdf(ON)``, and of its reportlab build (None: not seen)."""
    with BuildClock() as clock:
        total = timed(lambda: service.day_packet_pdf(ON))
    return total, clock.seconds if clock.calls == 1 else None


def profile(service: Service, top: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    service.day_packet_pdf(ON)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    print(f"\ncProfile of one packet build (top {top} by cumulative time; profiling slows it):")
    stats.sort_stats("cumulative").print_stats(top)
    print(f"top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed builds of each, alternating (default 5)")
    parser.add_argument("--pages", type=int, default=100, help="the packet's size to aim for (default 100)")
    parser.add_argument("--profile", action="store_true", help="profile one more packet build with cProfile")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="packet_bench_") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        service, subjects, expected = build_database(folder, args.pages)
        print(f"built {subjects} subjects in {time.perf_counter() - start:.1f} s", flush=True)
        try:
            visits = service.day_packet(ON)
            day1 = sum(1 for s, v in visits if service.planned_visit(s, v, ON).day == 1 and v.startswith("C"))
            packet = service.day_packet_pdf(ON)  # also the warm-up
            pages = page_count(packet, folder)
            floor = floor_pdf(pages)
            floor_pages = page_count(floor, folder)
            print(f"packet {ON.isoformat()}: {len(visits)} visits ({day1} of them a day 1 with its dosing calendar), "
                  f"{pages} pages (expected {expected}), {len(packet) / 1e6:.2f} MB; floor {floor_pages} pages, "
                  f"{len(floor) / 1e6:.2f} MB", flush=True)
            if floor_pages != pages:
                sys.exit(f"FAILED: the floor has {floor_pages} pages, the packet {pages}")

            times: dict[str, list[float]] = {"packet": [], "floor": []}
            builds: list[float | None] = []
            for _ in range(args.runs):
                total, build = timed_packet(service)
                times["packet"].append(total)
                builds.append(build)
                times["floor"].append(timed(lambda: floor_pdf(pages)))
            if args.profile:
                profile(service)
        finally:
            service.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["packet"] / med["floor"]
    print(f"\nResults ({dt.date.today().isoformat()}, {args.runs} runs each after 1 warm-up, alternating, "
          f"Python {sys.version.split()[0]})")
    print(f"  day packet ({pages} pages): median {med['packet']:.3f} s (min {min(times['packet']):.3f})   "
          f"{1000 * med['packet'] / pages:.1f} ms a page")
    if None not in builds:
        build = statistics.median(builds)
        rest = statistics.median(t - b for t, b in zip(times["packet"], builds))
        print(f"    of which reportlab's build (layout and writing, forms.common.build): median {build:.3f} s "
              f"({1000 * build / pages:.1f} ms a page); the rest (database, checklists, flowables, fitting the "
              f"dosing page): {rest:.3f} s")
    else:
        build = None
        print("    (reportlab's part not measured: the packet no longer calls coordinator.forms.common.build)")
    print(f"  reportlab floor ({pages} pages): median {med['floor']:.3f} s (min {min(times['floor']):.3f})   "
          f"{1000 * med['floor'] / pages:.1f} ms a page")
    print(f"  ratio packet/floor: {ratio:.2f} (goal <= {GOAL})   {verdict(ratio <= GOAL)}")
    if build:
        print(f"  for scale: reportlab's build of the packet's own pages / floor {build / med['floor']:.2f}; "
              f"packet / its own reportlab build {med['packet'] / build:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
