"""The dosing calendar of one subject and cycle: the page the pharmacy dispenses against and the
patient takes home, one A4 page for a cycle.

Every fact comes from the protocol and the subject: the drugs, their days, dose levels, strengths
and notes from the protocol; the dose level of the cycle (dose changes), the steroid and the
cycle's actual day 1 from the subject. Each dose day's cell says what to take in mg and in
tablets or capsules of the strengths the pharmacy stocks, so one row reads as an instruction.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from coordinator.dates import days as ndays
from coordinator.dates import display
from coordinator.errors import InputError
from coordinator.forms.common import (BODY, BOLD, CELL_PAD_X, CELL_PAD_Y, FRAME_HEIGHT, GRID, SHADE, SMALL, TITLE, WIDTH,
                                      Inset, Label, Stack, TickBox,
                                      bold, build, esc, line, para)
from coordinator.forms.stamps import Stamps
from coordinator.model import Subject
from coordinator.protocol import Drug, Protocol
from coordinator.schedule import PlannedVisit, build_plan, first_dose_visit
from coordinator.validation import pre_dose_day_1

CELL_FONT, CELL_SIZE, SMALLEST_SIZE = "Helvetica", 8, 7.5  # a dose text steps down to 7.5 pt before it wraps
CELL = ParagraphStyle("dosing-cell", fontName=CELL_FONT, fontSize=CELL_SIZE, leading=9.5)
HEAD = ParagraphStyle("dosing-head", fontName="Helvetica", fontSize=8, leading=9.5)
SECTION = ParagraphStyle("dosing-section", parent=BOLD, fontSize=9.5, leading=11.5)
NOTE = ParagraphStyle("dosing-note", parent=BODY, fontSize=8.5, leading=10.5, leftIndent=8, firstLineIndent=-8)
TABLE_HEAD = ParagraphStyle("dosing-table-head", fontName="Helvetica-Bold", fontSize=7, leading=8)
NOTICE = ParagraphStyle("dosing-notice", parent=BOLD, fontSize=9, leading=11)
PAD = 1.1 * mm
BOX_WIDTH = 64 * mm  # the header's box: subject, day 1, last day
DAY_W, BOX_W, INITIALS_W = 7 * mm, 6.5 * mm, 8 * mm
# A calendar row is ROW_H points high (room to tick and initial by hand); it grows up to MAX_ROW_H
# when the page has room and shrinks down to MIN_ROW_H when it must, so that the form stays on one page.
ROW_H, MIN_ROW_H, MAX_ROW_H = 15.0, 12.0, 17.0
NO_DOSE = colors.HexColor("#F4F4F4")
DOSE_SLACK, NOTES_MIN = 8 * mm, 22 * mm  # a dose text's spare room at most; the narrowest notes column


def units(dose_mg: float, strengths_mg: tuple[float, ...]) -> list[tuple[int, float]]:
    """How many tablets (capsules) of which strength make ``dose_mg`` exactly, in the fewest units;
    ties go to the larger strengths. ``units(40, (4, 2, 1, 0.5)) == [(10, 4.0)]``.
    Raises ValueError when no combination is exact."""
    if not strengths_mg or dose_mg <= 0 or any(s <= 0 for s in strengths_mg):
        raise ValueError(f"{dose_mg} mg from strengths {strengths_mg}: dose and strengths must be positive")
    exact = [Fraction(str(x)) for x in (dose_mg, *strengths_mg)]  # decimal, not binary: 0.1 + 0.2 == 0.3
    scale = math.lcm(*(f.denominator for f in exact))
    target, *sizes = (int(f * scale) for f in exact)
    sizes = sorted(set(sizes), reverse=True)
    if target // min(sizes) > 100_000:
        raise ValueError(f"{dose_mg} mg is more than 100000 units of {min(strengths_mg)} mg")
    fewest = [0] + [math.inf] * target  # fewest[a]: fewest units making a
    for amount in range(1, target + 1):
        fewest[amount] = min((fewest[amount - s] + 1 for s in sizes if s <= amount), default=math.inf)
    if fewest[target] == math.inf:
        raise ValueError(f"{mg(dose_mg)} mg cannot be made exactly from {', '.join(mg(s) for s in strengths_mg)} mg")
    counts: dict[int, int] = {}
    amount = target
    while amount:
        size = next(s for s in sizes if s <= amount and fewest[amount - s] == fewest[amount] - 1)
        counts[size] = counts.get(size, 0) + 1
        amount -= size
    return [(counts[s], float(Fraction(s, scale))) for s in sizes if s in counts]


def mg(value: float) -> str:
    """60 -> '60', 2.5 -> '2.5'."""
    return f"{value:g}"


def level_text(level: int) -> str:
    """'level 0', 'level –1' (an en dash: the standard PDF fonts have no minus sign), 'level +1'."""
    return f"level {'–' if level < 0 else '+' if level > 0 else ''}{abs(level)}"


def take_text(dose_mg: float, combination: Sequence[tuple[int, float]] | None, form: str) -> str:
    """'40 mg = 2 × 20 mg tablets', '10 mg = 1 × 10 mg capsule', '6 mg = 1 × 4 mg + 1 × 2 mg tablets'."""
    if combination is None:
        return f"{mg(dose_mg)} mg: ask pharmacy"  # the notice above the calendar says why
    count = sum(n for n, _ in combination)
    parts = " + ".join(f"{n} × {mg(s)} mg" for n, s in combination)
    return f"{mg(dose_mg)} mg = {parts} {form}{'s' if count > 1 else ''}"


def cycle_day1(protocol: Protocol, subject: Subject, cycle: int) -> dt.date:
    """The cycle's actual day 1 (its recorded CnD1 date; for cycle 1 the subject's c1d1), else its
    planned target. Raises InputError when the cycle is not (or no longer) in the subject's plan."""
    visit = _day1_visit(protocol, subject, cycle)
    return visit.date or visit.target


def _day1_visit(protocol: Protocol, subject: Subject, cycle: int) -> PlannedVisit:
    plan = build_plan(protocol, subject)
    visit = next((v for v in plan if v.kind == "cycle" and v.cycle == cycle and v.day == 1), None)
    if visit is None and pre_dose_day_1(subject, f"C{cycle}D1") and subject.planned_c1d1 is not None:
        return first_dose_visit(protocol, subject.planned_c1d1)  # its calendar goes home with the first dose
    if visit is None:
        cycles = [v.cycle for v in plan if v.kind == "cycle" and v.day == 1]
        why = f"its plan has cycles 1 to {max(cycles)}" if cycles else "no cycle 1 day 1 is recorded (not enrolled)"
        raise InputError(subject.id, "cycle", f"cycle {cycle} is not in the subject's plan: {why}")
    if visit.date is None and visit.cancelled_from is not None:
        raise InputError(subject.id, "cycle", f"cycle {cycle} was cancelled from {visit.cancelled_from.isoformat()}")
    return visit


def dosing_story(protocol: Protocol, subject: Subject, cycle: int, day1: dt.date | None = None,
                 visit: PlannedVisit | None = None, stamps: Stamps | None = None) -> list[Flowable]:
    """The page's flowables, without a trailing PageBreak (a packet concatenates forms).
    ``day1``: the day the cycle starts when its day 1 is not recorded yet but happens then (the
    day's packet: the visit is that day), instead of the planned target. ``visit``: the cycle's
    day 1 as the caller has it from the subject's plan already (else worked out here).
    ``stamps``: the document's shared parts, when it holds more forms (a day's packet)."""
    visit = visit or _day1_visit(protocol, subject, cycle)
    day1, length = visit.date or day1 or visit.target, protocol.cycle_length_days
    stamps = stamps or Stamps()
    columns = _columns(protocol, subject, cycle)
    top: list[Flowable] = [Label(f"subject {subject.id}  ·  dosing calendar, cycle {cycle}"),
                           _header(protocol, subject, cycle, day1, planned=visit.date is None,
                                   stamps=stamps), Spacer(1, 2 * mm)]
    notices = [f"{column.name}: {column.change}" for column in columns if column.change]
    notices += [f"{column.name} {mg(column.dose_mg)} mg cannot be made exactly from the {column.form} strengths in the "
                f"protocol: ask the pharmacy" for column in columns if column.combination is None]
    if subject.steroid is None and protocol.steroids:
        notices.append("Steroid: not recorded — enter in the app before dispensing")
    top += [stamps(("notice", text), functools.partial(_notice, text)) for text in notices]
    dispensing = _dispensing_rows(columns)
    bottom = [Spacer(1, 3 * mm), _section("Dispensing and returns", stamps),
              stamps(("dispensing", *map(tuple, dispensing)), lambda: _dispensing(dispensing)), Spacer(1, 3 * mm)]
    bottom += _reminders(protocol, stamps) + [Spacer(1, 4 * mm), stamps(("signatures",), _signatures)]
    # the calendar, as everything it prints decides: the same for the subjects of one regimen, dose and day 1
    key = ("calendar", day1, length, *((c.heading, c.change, c.change_short, c.days, c.take) for c in columns))
    calendar = stamps.part(key, lambda: _Calendar(columns, day1, length))
    fixed_rows, row_h = calendar.fixed_rows, ROW_H
    spare = FRAME_HEIGHT - 2 - sum([*map(_height, top), calendar.height(ROW_H), *map(_height, bottom)])
    if fixed_rows and (spare < 0 or spare >= fixed_rows):  # rows a point taller, or too tall for the page
        row_h = min(MAX_ROW_H, max(MIN_ROW_H, ROW_H + math.floor(2 * spare / fixed_rows) / 2))
    return top + [stamps((*key, row_h), lambda: calendar.table(row_h))] + bottom


def dosing_pdf(protocol: Protocol, subject: Subject, cycle: int, printed: dt.date) -> bytes:
    return build(dosing_story(protocol, subject, cycle), f"Dosing calendar cycle {cycle}", protocol.code, printed)


def _height(flowable: Flowable) -> float:
    """The room the flowable takes on the page (a shared part is measured once a document)."""
    return flowable.wrap(WIDTH, FRAME_HEIGHT)[1] + flowable.getSpaceBefore() + flowable.getSpaceAfter()


@dataclass(frozen=True)
class _Column:
    """One drug on the calendar."""

    name: str
    heading: str  # 'Selinexor, level –1: 40 mg'
    form: str  # tablet, capsule
    dose_mg: float
    days: tuple[int, ...]
    combination: tuple[tuple[int, float], ...] | None  # None: the strengths cannot make the dose exactly
    change: str = ""  # 'dose reduced from this cycle: level –1 (was 60 mg, level 0)'
    change_short: str = ""  # 'REDUCED from this cycle (was 60 mg)', under the column's heading

    @property
    def take(self) -> str:
        return take_text(self.dose_mg, self.combination, self.form)


def _columns(protocol: Protocol, subject: Subject, cycle: int) -> list[_Column]:
    columns = [_drug_column(drug, subject, cycle, protocol.cycle_length_days) for drug in protocol.drugs]
    steroid = subject.steroid
    if steroid is not None and steroid.given:
        kind = protocol.steroids[steroid.drug]
        columns.append(_Column(kind.name, f"{kind.name}: {mg(steroid.dose_mg)} mg", kind.form, steroid.dose_mg,
                               tuple(sorted(steroid.days)), _combination(steroid.dose_mg, kind.strengths_mg)))
    return columns


def _drug_column(drug: Drug, subject: Subject, cycle: int, length: int) -> _Column:
    level = subject.dose_level(drug.id, cycle)
    dose = drug.dose_mg(level)
    change = change_short = ""
    if any(c.drug == drug.id and c.from_cycle == cycle for c in subject.dose_changes):
        before = subject.dose_level(drug.id, cycle - 1) if cycle > 1 else 0
        if before != level:
            verb = "reduced" if dose < drug.dose_mg(before) else "increased"
            was = f"{'was' if cycle > 1 else 'starting dose'} {mg(drug.dose_mg(before))} mg"
            change = f"dose {verb} from this cycle: {level_text(level)} ({was}, {level_text(before)})"
            change_short = f"{verb.upper()} from this cycle ({was})"
    return _Column(drug.name, f"{drug.name}, {level_text(level)}: {mg(dose)} mg", drug.form, dose,
                   tuple(d for d in drug.days if d <= length), _combination(dose, drug.strengths_mg), change, change_short)


@functools.lru_cache(maxsize=256)  # a packet's forms ask for the same few doses again and again
def _combination(dose: float, strengths: tuple[float, ...]) -> tuple[tuple[int, float], ...] | None:
    try:
        return tuple(units(dose, strengths))
    except ValueError:
        return None


def _runs(days) -> list[tuple[int, int]]:
    """(1, 2, 3, 8) -> [(1, 3), (8, 8)]: the days' runs of consecutive days, first and last."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][1] + 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _day_ranges(days: tuple[int, ...]) -> str:
    """(1, 2, 3, 8) -> 'days 1–3, 8'."""
    text = ", ".join(f"{first}–{last}" if last - first > 1 else ", ".join(map(str, range(first, last + 1)))
                     for first, last in _runs(days))
    return f"day{'s' if len(days) > 1 else ''} {text}"


def _short(day: dt.date) -> str:
    """'Mon 31-Mar': the header gives the year."""
    return display(day, weekday=True)[:-5]


def _block(flowables: list[Flowable], padding: float = 0, style: list | None = None) -> Table:
    """Flowables in a full-width table: their left edge lines up with the tables'."""
    table = Table([[f] for f in flowables], colWidths=[WIDTH])
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), padding), ("RIGHTPADDING", (0, 0), (-1, -1), padding),
                               ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]
                              + (style or [])))
    return table


def _section(title: str, stamps: Stamps) -> Flowable:
    return stamps(("section", title),
                  lambda: _block([line(title, style=SECTION)], style=[("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))


def _notice(text: str) -> Table:
    """A boxed, shaded line the pharmacy cannot miss."""
    table = _block([line(text, style=NOTICE)], padding=PAD, style=[
        ("BOX", (0, 0), (-1, -1), 1.2, colors.black), ("BACKGROUND", (0, 0), (-1, -1), SHADE),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)])
    table.spaceAfter = 1.5 * mm
    return table


def _header(protocol: Protocol, subject: Subject, cycle: int, day1: dt.date, planned: bool, stamps: Stamps) -> Flowable:
    """The form and the study (shared by the cycle's forms), and the subject's box with the cycle's days."""
    last = day1 + ndays(protocol.cycle_length_days - 1)
    # one space between the subject and "Initials": as the Paragraph it was printed with, which folds spaces
    subject_box = Stack([line("Subject ", bold(subject.id), " Initials ", bold(subject.initials)),
                         line(bold(f"Day 1 = {display(day1, weekday=True)}"), " (planned)" if planned else ""),
                         line(f"Day {protocol.cycle_length_days} = {display(last, weekday=True)}", style=SMALL)])
    size = subject_box.wrap(BOX_WIDTH - 2 * CELL_PAD_X, FRAME_HEIGHT)
    return Inset(stamps(("dosing-head", cycle, size), lambda: _header_table(protocol, cycle, Spacer(*size))), subject_box)


def _header_table(protocol: Protocol, cycle: int, box: Flowable) -> Table:
    """The form and the study on the left, the subject's ``box`` on the right (in the packet a
    Spacer of its size: ``Inset`` draws it there)."""
    left = [line(f"DOSING CALENDAR · Cycle {cycle}", style=TITLE),
            line(f"Study {protocol.code} · {protocol.short_title}", style=SMALL)]
    table = Table([[left, box]], colWidths=[WIDTH - BOX_WIDTH, BOX_WIDTH])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (1, 0), (1, 0), 0.8, colors.black),
                               ("LEFTPADDING", (0, 0), (0, 0), 0), ("TOPPADDING", (1, 0), (1, 0), CELL_PAD_Y),
                               ("BOTTOMPADDING", (1, 0), (1, 0), 4)]))
    return table


def _fit(columns: list[_Column], room: float) -> tuple[list[float], list[float]]:
    """Each dose column's width and font size: room for its text at 8 pt when the page has it (what
    is left over goes to a notes column when it is wide enough, else to the texts); else the short
    texts keep theirs, the long ones try 7.5 pt, then wrap."""
    sizes = [CELL_SIZE] * len(columns)
    while True:
        need = [stringWidth(c.take, CELL_FONT, size) + 2 * PAD for c, size in zip(columns, sizes)]
        if sum(need) <= room:  # room to spare: a little for each text, a notes column from the rest
            spare = room - sum(need)
            slack = min(spare / max(len(columns), 1), DOSE_SLACK)
            if spare - slack * len(columns) < NOTES_MIN:
                slack = spare / max(len(columns), 1)
            return [n + slack for n in need], sizes
        widths = [0.0] * len(columns)
        waiting, left = sorted(range(len(columns)), key=lambda i: need[i]), room
        while waiting:
            fair = left / len(waiting)
            if need[waiting[0]] > fair:
                for i in waiting:
                    widths[i] = fair
                break
            i = waiting.pop(0)
            widths[i], left = need[i], left - need[i]
        short = [i for i in range(len(columns)) if widths[i] < need[i] and sizes[i] > SMALLEST_SIZE]
        if not short:
            return widths, sizes
        for i in short:
            sizes[i] = SMALLEST_SIZE


class _Calendar:
    """The calendar's rows and style, from which its table is made once its row height is chosen.
    Its rows are the two heading rows, a row whose dose wraps (it grows to fit), and the others
    (``fixed_rows``), all of one height."""

    def __init__(self, columns: list[_Column], day1: dt.date, length: int):
        dates = [_short(day1 + ndays(day - 1)) for day in range(1, length + 1)]
        date_w = max(stringWidth(text, CELL_FONT, CELL_SIZE) for text in dates) + 2 * PAD
        room = WIDTH - DAY_W - date_w - len(columns) * (BOX_W + INITIALS_W)
        dose_w, sizes = _fit(columns, room)
        notes_w = room - sum(dose_w)
        head1: list = ["Day", "Date"]
        head2: list = ["", ""]
        widths = [DAY_W, date_w]
        for column, width in zip(columns, dose_w):
            lines = [f"<b>{esc(column.heading, 'b')}</b>", f"<font size=7>{esc(_day_ranges(column.days))}</font>"]
            if column.change:
                lines.append(f"<font size=7><b>{esc(column.change_short, 'b')}</b></font>")
            head1 += [para("<br/>".join(lines), HEAD), "", ""]
            head2 += ["Dose to take", "Taken", "Initials"]
            widths += [width, BOX_W, INITIALS_W]
        if notes_w >= NOTES_MIN:
            head1.append(para("<b>Notes</b><br/><font size=7>vomited or missed dose, side effects</font>", HEAD))
            head2.append("")
            widths.append(notes_w)
        notes = len(widths) > 2 + 3 * len(columns)
        rows = [head1, head2]
        # the same for every day's row (by column) or for the heading rows: the measuring table has it too
        style = [
            ("FONT", (0, 0), (-1, -1), CELL_FONT, CELL_SIZE),
            ("FONT", (0, 1), (-1, 1), "Helvetica", 6),
            ("FONT", (0, 0), (1, 0), "Helvetica-Bold", 8),
            ("FONT", (0, 2), (0, -1), "Helvetica-Bold", CELL_SIZE),
            ("SPAN", (0, 0), (0, 1)), ("SPAN", (1, 0), (1, 1)),
            ("VALIGN", (0, 0), (-1, 0), "TOP"), ("VALIGN", (0, 1), (-1, -1), "MIDDLE"),
            ("ALIGN", (0, 0), (0, -1), "CENTER"),
            ("BACKGROUND", (0, 0), (-1, 1), SHADE),
            ("GRID", (0, 0), (-1, -1), 0.4, GRID),
            ("BOX", (0, 0), (-1, -1), 1, colors.black),
            ("LINEBELOW", (0, 1), (-1, 1), 1, colors.black),
            ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        if notes:
            style += [("SPAN", (-1, 0), (-1, 1)), ("LINEBEFORE", (-1, 0), (-1, -1), 1, colors.black)]
        wrap = {}
        for i, size in enumerate(sizes):
            first = 2 + 3 * i
            style += [("SPAN", (first, 0), (first + 2, 0)), ("ALIGN", (first + 1, 1), (first + 2, -1), "CENTER"),
                      ("LEFTPADDING", (first + 1, 1), (first + 2, -1), 0),
                      ("RIGHTPADDING", (first + 1, 1), (first + 2, -1), 0),
                      ("LINEBEFORE", (first, 0), (first, -1), 1, colors.black)]
            if size != CELL_SIZE:
                style.append(("FONT", (first, 2), (first, -1), CELL_FONT, size))
            wrap[i] = ParagraphStyle(f"dosing-wrap-{size}", parent=CELL, fontSize=size, leading=size + 1)
        takes = [column.take for column in columns]
        fits = [stringWidth(take, CELL_FONT, size) + 2 * PAD <= width + 0.01
                for take, size, width in zip(takes, sizes, dose_w)]
        marks = []  # what only shades or rules the days' rows: no bearing on their height
        for day, date in enumerate(dates, 1):
            row_i = len(rows)
            row: list = [str(day), date]
            for i, column in enumerate(columns):
                if day in column.days:
                    row += [takes[i] if fits[i] else para(esc(takes[i]), wrap[i]), TickBox(), ""]
                else:
                    row += ["", "", ""]
            rows.append(row + [""] * notes)
            if day % 7 == 0 and day < length:
                marks.append(("LINEBELOW", (0, row_i), (-1, row_i), 1, colors.black))  # weeks
        for i, column in enumerate(columns):  # a column's days without a dose, shaded a run of days at a time
            for first, last in _runs([day for day in range(1, length + 1) if day not in column.days]):
                marks.append(("BACKGROUND", (2 + 3 * i, first + 1), (4 + 3 * i, last + 1), NO_DOSE))
        self._rows, self._widths, self._style, self._marks = rows, widths, style, marks
        # a row whose dose wraps grows to fit it
        self._grows = [any(isinstance(c, Paragraph) for c in row) for row in rows[2:]]
        self.fixed_rows = self._grows.count(False)
        self._measured: float | None = None  # the heading rows and the rows that grow

    def height(self, row_h: float) -> float:
        """The table's height with ``row_h`` high fixed rows, without making it: the heading rows
        and the rows that grow are measured in a table of their own (nothing else in the
        calendar bears on their height), the fixed rows counted."""
        if self._measured is None:
            rows = self._rows[:2] + [row for row, grows in zip(self._rows[2:], self._grows) if grows]
            measure = Table(rows, colWidths=self._widths)
            measure.setStyle(TableStyle(self._style))
            self._measured = measure.wrap(WIDTH, FRAME_HEIGHT)[1]
        return self._measured + self.fixed_rows * row_h

    def table(self, row_h: float) -> Table:
        heights = [None, None] + [None if grows else row_h for grows in self._grows]
        table = Table(self._rows, colWidths=self._widths, rowHeights=heights, repeatRows=2)
        table.setStyle(TableStyle(self._style + self._marks))
        return table


def _dispensing_rows(columns: list[_Column]) -> list[list[str]]:
    """The dispensing table's rows below its heading: a drug's strength a row."""
    rows = []
    for column in columns:
        plural = f"{column.form}s"
        if column.combination is None:
            rows.append([column.name, "ask pharmacy", "–", "–", "", "", "", ""])
            continue
        for count, strength in column.combination:
            total = count * len(column.days)
            rows.append([column.name, f"{mg(strength)} mg {column.form}", f"{count}",
                         f"{total} {plural if total != 1 else column.form} ({count} × {len(column.days)} days)",
                         "", "", "", ""])
    return rows


def _dispensing(drug_rows: list[list[str]]) -> Table:
    head = ["Drug", "Strength", "Units per dose", "Expected this cycle (guidance)", "Quantity dispensed", "Lot no.",
            "Quantity returned at next visit", "Pill count / checked by"]
    rows: list = [[line(h, style=TABLE_HEAD) for h in head], *drug_rows]
    widths = [27 * mm, 22 * mm, 14 * mm, 37 * mm, 20 * mm, 23 * mm, 20 * mm]
    # a long drug name (Methylprednisolone) widens its column, taking from the lot number's
    widest = max((stringWidth(row[0], "Helvetica-Bold", CELL_SIZE) + 2 * PAD for row in drug_rows), default=0)
    grow = min(max(0.0, widest - widths[0]), widths[5] - 15 * mm)
    widths[0], widths[5] = widths[0] + grow, widths[5] - grow
    widths.append(WIDTH - sum(widths))
    table = Table(rows, colWidths=widths, rowHeights=[None] + [16] * (len(rows) - 1))
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), CELL_FONT, CELL_SIZE),
        ("FONT", (0, 1), (0, -1), "Helvetica-Bold", CELL_SIZE),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (2, 1), (2, -1), "CENTER"),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BOX", (0, 0), (-1, -1), 1, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
    ]))
    return table


def _reminders(protocol: Protocol, stamps: Stamps) -> list[Flowable]:
    """Each drug's notes from the protocol (supportive care, missed doses), one line per drug (the
    same on every form of a document: one protocol)."""
    if not any(drug.notes for drug in protocol.drugs):
        return []

    def make() -> Table:
        return _block([para(f"•  <b>{esc(drug.name, 'b')}:</b> {esc(' '.join(drug.notes))}", NOTE)
                       for drug in protocol.drugs if drug.notes])

    return [_section("Reminders", stamps), stamps(("reminders",), make)]


def _signatures() -> Table:
    """Patient, coordinator, investigator: a line to sign and a line for the date, each."""
    labels = ["Patient", "Coordinator", "Investigator"]
    sign_w, small, date_w = 38 * mm, 3 * mm, 17 * mm
    gap = (WIDTH - 3 * (sign_w + small + date_w)) / 2
    widths: list[float] = []
    bottom: list[str] = []
    style = [("FONT", (0, 0), (-1, -1), "Helvetica", 7.5), ("VALIGN", (0, 1), (-1, 1), "TOP"),
             ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 1), (-1, 1), 2)]
    for i, label in enumerate(labels):
        first = len(widths)
        widths += [sign_w, small, date_w] + ([gap] if i < len(labels) - 1 else [])
        bottom += [f"{label} signature", "", "Date"] + ([""] if i < len(labels) - 1 else [])
        style += [("LINEBELOW", (first, 0), (first, 0), 0.8, colors.black),
                  ("LINEBELOW", (first + 2, 0), (first + 2, 0), 0.8, colors.black)]
    table = Table([[""] * len(widths), bottom], colWidths=widths, rowHeights=[22, 12])
    table.setStyle(TableStyle(style))
    return table
