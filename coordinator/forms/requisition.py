"""The lab requisition of one visit: one page per destination (local laboratory, research
samples), the ordered tests grouped by specimen and container, each with a box to tick, and a
Code 128 barcode of the accession id.

Which tests: the visit's procedures from the Schedule of Assessments that take a specimen,
leaving out those whose condition does not apply to this subject (no pregnancy test for a man)
and on-request items nobody requested: exactly the checklist's items that are not "not
applicable".
"""

from __future__ import annotations

import datetime as dt
import functools

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak, Spacer, Table, TableStyle

from coordinator.checklist import visit_checklist
from coordinator.dates import display, display_window
from coordinator.forms.common import (BODY, BOLD, CELL_PAD_X, CELL_PAD_Y, FRAME_HEIGHT, GRID, SHADE, SMALL, TITLE, WIDTH,
                                      Inset, Label, TickBox,
                                      bold, build, esc, italic, line, para)
from coordinator.forms.stamps import Stamps
from coordinator.model import Subject
from coordinator.protocol import Protocol
from coordinator.schedule import PlannedVisit

DESTINATIONS = {"local_lab": "LOCAL LABORATORY", "research": "RESEARCH / BIOMARKER SAMPLES"}


def accession_id(subject_id: str, visit: str, day: dt.date) -> str:
    """What the barcode holds and the lab files the tubes under: subject, visit and date."""
    return f"{subject_id}-{visit}-{day.strftime('%Y%m%d')}"


def ordered(protocol: Protocol, subject: Subject, visit: PlannedVisit) -> dict[str, list]:
    """The visit's tests by destination, in the protocol's order: (procedure, checklist item)."""
    ref = protocol.parse_visit(visit.code)
    items = {i.id: i for i in visit_checklist(protocol, subject, ref)}
    out: dict[str, list] = {}
    for procedure in protocol.procedures_at(ref):
        item = items.get(procedure.id)
        if procedure.specimen == "none" or procedure.destination not in DESTINATIONS:
            continue
        if item is None or item.status == "not_applicable":
            continue
        out.setdefault(procedure.destination, []).append((procedure, item))
    return out


def requisition_story(protocol: Protocol, subject: Subject, visit: PlannedVisit, on: dt.date,
                      site: str = "", stamps: Stamps | None = None) -> list[Flowable]:
    """Every page of the visit's requisition (pages separated by PageBreak); [] when the visit
    orders no specimen. ``on``: the collection day when the visit has no recorded date.
    ``stamps``: the document's shared parts, when it holds more forms (a day's packet)."""
    day = visit.date or on
    accession = accession_id(subject.id, visit.code, day)
    stamps = stamps or Stamps()
    pages = []
    for destination, tests in ordered(protocol, subject, visit).items():
        if pages:
            pages.append(PageBreak())
        pages += _page(protocol, subject, visit, day, accession, destination, tests, site, stamps)
    return pages


def requisition_pdf(protocol: Protocol, subject: Subject, visit: PlannedVisit, on: dt.date, site: str = "",
                    printed: dt.date | None = None) -> bytes:
    story = requisition_story(protocol, subject, visit, on, site)
    if not story:
        story = [para(f"Visit {esc(visit.code)} of subject {esc(subject.id)} orders no laboratory specimen.", BODY)]
    return build(story, f"Lab requisition {visit.code}", protocol.code, printed or on)


# -- one page ----------------------------------------------------------------------------------------
def _page(protocol, subject, visit, day, accession, destination, tests, site, stamps: Stamps) -> list[Flowable]:
    barcode = _Barcode(accession, barHeight=12 * mm, barWidth=0.27 * mm, humanReadable=True, fontSize=9)
    size = (barcode.width, barcode.height)  # the header is shared; only its barcode is the page's own
    header = Inset(stamps(("requisition-head", site, destination, size),
                          lambda: _header(protocol, site, destination, Spacer(*size))), barcode)
    timing = []
    if _dosing_day(protocol, visit):
        timing = [line(bold("Collect every sample before the day's dose of study drug.")), Spacer(1, 2 * mm)]
    form = f"subject {subject.id}  ·  lab requisition {visit.code}, {DESTINATIONS[destination].lower()}"
    return [Label(form), header, Spacer(1, 3 * mm), _subject_block(subject, visit, day), Spacer(1, 3 * mm), *timing,
            *_specimens(protocol, tests, stamps), Spacer(1, 4 * mm), stamps(("collection",), _collection_block)]


def _header(protocol: Protocol, site: str, destination: str, barcode: Flowable) -> Table:
    """The site, the form, the destination and the study on the left, the barcode on the right (in
    the packet a Spacer of its size: ``Inset`` draws it there)."""
    left = [line(site or "Site: ______________________________", style=BOLD),
            line("LAB REQUISITION", style=TITLE),
            line(DESTINATIONS[destination], style=BOLD),
            line("Study ", bold(protocol.code), f": {protocol.short_title}", style=SMALL),
            Spacer(1, 2 * mm),
            line("Ordering investigator: ______________________________")]
    code_width = barcode.width + 4 * mm
    header = Table([[left, barcode]], colWidths=[WIDTH - code_width, code_width])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                                ("LINEBELOW", (0, 0), (-1, 0), 1, GRID), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
    return header


def _dosing_day(protocol: Protocol, visit: PlannedVisit) -> bool:
    """A treatment visit on a day a study drug is taken: its samples come before the dose."""
    return visit.kind == "cycle" and any(visit.day in drug.days for drug in protocol.drugs)


def _blank(value) -> str:
    return value or "____________________"


def _subject_block(subject: Subject, visit: PlannedVisit, day: dt.date) -> Flowable:
    window = display_window(visit.window_start, visit.window_end)
    sex = {"F": "Female", "M": "Male"}.get(subject.sex, subject.sex)
    return _SubjectBlock([
        (0, 0, 0, line("Subject ", bold(subject.id))), (0, 1, 1, line("Initials ", bold(subject.initials))),
        (0, 2, 2, line("Sex ", bold(sex))), (0, 3, 3, line("Birth date ", bold(display(subject.birth_date)))),
        (1, 0, 0, line(f"Name {_blank(subject.name)}")), (1, 1, 3, line(f"MRN {_blank(subject.mrn)}")),
        (2, 0, 1, line("Visit ", bold(visit.code), f" · {visit.label}")),
        (2, 2, 3, line("Visit date ", bold(display(visit.date, weekday=True))) if visit.date else
         line(f"Collection day {display(day, weekday=True)}")),
        # a line of its own: beside the visit, a window of two dates wrapped
        (3, 0, 3, line(f"Target {display(visit.target, weekday=True)} (window {window})"))])


class _SubjectBlock(Flowable):
    """The subject and visit block: rows of one-line cells (row, first and last column, ``line``)
    in a box, the first row shaded. It is on every requisition page, so it is drawn directly, its
    text in one text object, where ``_as_table`` would put it; where a text needs more than its cell
    (a long name), it is that table, which wraps the text."""

    WIDTHS = [WIDTH * 0.3, WIDTH * 0.22, WIDTH * 0.22, WIDTH * 0.26]

    def __init__(self, cells):
        super().__init__()
        self.cells = cells
        self.hAlign = "CENTER"  # as a table
        self._edges = [sum(self.WIDTHS[:i]) for i in range(len(self.WIDTHS) + 1)]
        self._heights: list[float] = []  # of the rows, drawn directly
        self._table: Table | None = None  # where a text does not fit

    def _as_table(self) -> Table:
        rows = [[""] * len(self.WIDTHS) for _ in range(1 + max(row for row, *_ in self.cells))]
        # the cells that a span covers stay "", as high as the table's font makes them: 9 pt keeps them
        # lower than a line, so that every row is as high as drawn directly
        style = [("BOX", (0, 0), (-1, -1), 0.8, GRID), ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                 ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("FONT", (0, 0), (-1, -1), "Helvetica", 9)]
        for row, first, last, cell in self.cells:
            rows[row][first] = cell
            if last > first:
                style.append(("SPAN", (first, row), (last, row)))
        table = Table(rows, colWidths=self.WIDTHS)
        table.setStyle(TableStyle(style))
        return table

    def wrap(self, availWidth, availHeight):
        if all(cell.fits(self._edges[last + 1] - self._edges[first] - 2 * CELL_PAD_X)
               for _, first, last, cell in self.cells):
            self._table = None
            rows = 1 + max(row for row, *_ in self.cells)
            self._heights = [max(cell.style.leading for row, *_, cell in self.cells if row == i) + 2 * CELL_PAD_Y
                             for i in range(rows)]
            self.width, self.height = self._edges[-1], sum(self._heights)
        else:
            self._table = self._table or self._as_table()
            self.width, self.height = self._table.wrap(availWidth, availHeight)
        return self.width, self.height

    def drawOn(self, canvas, x, y, _sW=0):
        if self._table is not None:
            self._table.drawOn(canvas, x, y, _sW)
            return
        x = self._hAlignAdjust(x, _sW)
        tops = [y + self.height - sum(self._heights[:i]) for i in range(len(self._heights))]
        canvas.saveState()
        canvas.setFillColor(SHADE)
        canvas.rect(x, tops[0] - self._heights[0], self.width, self._heights[0], stroke=0, fill=1)
        text = canvas.beginText()
        for row, first, _, cell in self.cells:  # in the middle of its row, as the table's VALIGN MIDDLE
            cell.write(text, x + self._edges[first] + CELL_PAD_X, tops[row] - (self._heights[row] - cell.style.leading) / 2)
        canvas.drawText(text)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.8)
        canvas.rect(x, y, self.width, self.height)
        canvas.restoreState()


def _specimens(protocol: Protocol, tests, stamps: Stamps) -> list[Flowable]:
    """One block per specimen, in the order of the first of its tests."""
    by_specimen: dict[str, list] = {}
    for procedure, item in tests:
        by_specimen.setdefault(procedure.specimen, []).append((procedure, item))
    blocks = []
    for specimen_id, entries in by_specimen.items():
        # what it prints: the protocol's specimen and procedures (one protocol a document), the subject's notes
        key = ("specimen", specimen_id, *((procedure.id, item.condition, item.note) for procedure, item in entries))
        blocks += [stamps(key, functools.partial(_specimen, protocol.specimens[specimen_id], entries)), Spacer(1, 2.5 * mm)]
    return blocks


def _specimen(specimen, entries) -> Table:
    """A specimen's block: its container and handling, then each test with a tick box."""
    title = specimen.label.upper() + (f" · {specimen.container}" if specimen.container else "")
    rows = [[line(title, style=BOLD), ""]]
    if specimen.handling:
        rows.append([line(italic(specimen.handling), style=SMALL), ""])
    for procedure, item in entries:
        notes = [n for n in (item.condition and f"({item.condition})", item.note) if n]
        if not procedure.tests and not notes:
            rows.append([TickBox(), line(bold(procedure.label))])
            continue
        text = f"<b>{esc(procedure.label, 'b')}</b>"
        if procedure.tests:
            text += f"<br/>{esc(', '.join(procedure.tests))}"
        if notes:
            text += f"<br/><font size=7>{esc('; '.join(notes))}</font>"
        rows.append([TickBox(), para(text, BODY)])
    if specimen.timed:
        rows.append(["", para("Started: date __________ time ______ &nbsp;&nbsp; Ended: date __________ "
                              "time ______ &nbsp;&nbsp; Total volume ________ mL", BODY)])
    table = _Whole(rows, colWidths=[8 * mm, WIDTH - 8 * mm])
    style = [("BOX", (0, 0), (-1, -1), 0.8, GRID), ("SPAN", (0, 0), (1, 0)), ("BACKGROUND", (0, 0), (-1, 0), SHADE),
             ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 1), (-1, -1), 0.25, GRID)]
    if specimen.handling:
        style.append(("SPAN", (0, 1), (1, 1)))
    table.setStyle(TableStyle(style))
    return table


TEXT_GAP = 1.5  # points between the bars and the text under them


class _Barcode(Code128):
    """reportlab's Code 128, its bars drawn as one path counted in bar widths (whole numbers), then
    scaled: the same bars for a fraction of the work (a packet has one on every requisition page).
    Its encoding is worked out once (reportlab's does it again at each read of its size)."""

    def _calculate(self):
        if getattr(self, "_encoded_for", None) != self.value:
            super()._calculate()
            self._encoded_for = self.value

    def draw(self):
        self._calculate()
        bars, left = [], 0
        for c in self.decomposed:  # a letter per bar or space: its width in bar widths, lower case a space
            width = ord(c.lower()) - ord("a") + 1
            if c.isupper():
                bars.append(f"{left} 0 {width} 1 re")
            left += width
        canvas = self.canv
        canvas.saveState()
        canvas.translate(self.lquiet if self.quiet else 0, 0)
        canvas.scale(self.barWidth, self.barHeight)
        canvas.addLiteral(" ".join(bars) + " f")
        canvas.restoreState()
        canvas.saveState()
        canvas.translate(0, -TEXT_GAP)  # reportlab sets the text's tops against the bars: read as one at 150 dpi
        self.drawHumanReadable()
        canvas.restoreState()


class _Whole(Table):
    """A table kept whole: where it does not fit, it goes to the next page, as in a KeepTogether
    (without a KeepTogether's measuring it once more). Only a table taller than a page is split,
    from where it starts."""

    def split(self, availWidth, availHeight):
        if self.wrap(availWidth, availHeight)[1] <= FRAME_HEIGHT:
            return []  # the page ends here and the table starts the next
        return super().split(availWidth, availHeight)


def _collection_block() -> Table:
    """Who collected when, and a line for the lab's notes across the box."""
    notes = "Notes: "
    blank = (WIDTH - 2 * CELL_PAD_X - stringWidth(notes, BODY.fontName, BODY.fontSize)) // stringWidth("_", BODY.fontName, BODY.fontSize)
    rows = [[line("Collected: date ______________"), line("time ________"), line("by (initials) ________")],
            [line(notes + "_" * int(blank)), "", ""]]
    table = Table(rows, colWidths=[WIDTH * 0.4, WIDTH * 0.25, WIDTH * 0.35])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, GRID), ("SPAN", (0, 1), (2, 1)),
                               ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table
