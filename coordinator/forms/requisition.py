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

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Spacer, Table, TableStyle

from coordinator.checklist import visit_checklist
from coordinator.dates import display, display_window
from coordinator.forms.common import (BODY, BOLD, FRAME_HEIGHT, GRID, SHADE, SMALL, TITLE, WIDTH, TickBox, bold, build,
                                      esc, italic, line, para)
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
                      site: str = "") -> list[Flowable]:
    """Every page of the visit's requisition (pages separated by PageBreak); [] when the visit
    orders no specimen. ``on``: the collection day when the visit has no recorded date."""
    day = visit.date or on
    accession = accession_id(subject.id, visit.code, day)
    pages = []
    for destination, tests in ordered(protocol, subject, visit).items():
        if pages:
            pages.append(PageBreak())
        pages += _page(protocol, subject, visit, day, accession, destination, tests, site)
    return pages


def requisition_pdf(protocol: Protocol, subject: Subject, visit: PlannedVisit, on: dt.date, site: str = "",
                    printed: dt.date | None = None) -> bytes:
    story = requisition_story(protocol, subject, visit, on, site)
    if not story:
        story = [para(f"Visit {esc(visit.code)} of subject {esc(subject.id)} orders no laboratory specimen.", BODY)]
    return build(story, f"Lab requisition {visit.code}", protocol.code, printed or on)


# -- one page ----------------------------------------------------------------------------------------
def _page(protocol, subject, visit, day, accession, destination, tests, site) -> list[Flowable]:
    barcode = Code128(accession, barHeight=12 * mm, barWidth=0.27 * mm, humanReadable=True, fontSize=9)
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
    timing = []
    if _dosing_day(protocol, visit):
        timing = [line(bold("Collect every sample before the day's dose of study drug.")), Spacer(1, 2 * mm)]
    return [header, Spacer(1, 3 * mm), _subject_block(subject, visit, day), Spacer(1, 3 * mm), *timing,
            *_specimens(protocol, tests), Spacer(1, 4 * mm), _collection_block(protocol, tests)]


def _dosing_day(protocol: Protocol, visit: PlannedVisit) -> bool:
    """A treatment visit on a day a study drug is taken: its samples come before the dose."""
    return visit.kind == "cycle" and any(visit.day in drug.days for drug in protocol.drugs)


def _blank(value) -> str:
    return value or "____________________"


def _subject_block(subject: Subject, visit: PlannedVisit, day: dt.date) -> Table:
    window = display_window(visit.window_start, visit.window_end)
    sex = {"F": "Female", "M": "Male"}.get(subject.sex, subject.sex)
    rows = [
        [line("Subject ", bold(subject.id)), line("Initials ", bold(subject.initials)),
         line("Sex ", bold(sex)), line("Birth date ", bold(display(subject.birth_date)))],
        [line(f"Name {_blank(subject.name)}"), line(f"MRN {_blank(subject.mrn)}"), "", ""],
        [line("Visit ", bold(visit.code), f" · {visit.label}"), "",
         line("Visit date ", bold(display(visit.date, weekday=True))) if visit.date else
         line(f"Collection day {display(day, weekday=True)}"), ""],
        # a line of its own: beside the visit, a window of two dates wrapped
        [line(f"Target {display(visit.target, weekday=True)} (window {window})"), "", "", ""],
    ]
    table = Table(rows, colWidths=[WIDTH * 0.3, WIDTH * 0.22, WIDTH * 0.22, WIDTH * 0.26])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, GRID), ("SPAN", (0, 2), (1, 2)), ("SPAN", (2, 2), (3, 2)),
                               ("SPAN", (1, 1), (3, 1)), ("SPAN", (0, 3), (3, 3)),
                               ("BACKGROUND", (0, 0), (-1, 0), SHADE), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _specimens(protocol: Protocol, tests) -> list[Flowable]:
    """One block per specimen: its container and handling, then each test with a tick box."""
    by_specimen: dict[str, list] = {}
    for procedure, item in tests:
        by_specimen.setdefault(procedure.specimen, []).append((procedure, item))
    blocks = []
    for specimen_id, entries in by_specimen.items():
        specimen = protocol.specimens[specimen_id]
        title = specimen.label.upper() + (f" · {specimen.container}" if specimen.container else "")
        rows = [[line(title, style=BOLD), ""]]
        if specimen.handling:
            rows.append([line(italic(specimen.handling), style=SMALL), ""])
        for procedure, item in entries:
            notes = [n for n in (item.condition and f"({item.condition})", item.note) if n]
            if not procedure.tests and not notes:
                rows.append([TickBox(), line(bold(procedure.label))])
                continue
            text = f"<b>{esc(procedure.label)}</b>"
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
        blocks += [table, Spacer(1, 2.5 * mm)]
    return blocks


class _Whole(Table):
    """A table kept whole: where it does not fit, it goes to the next page, as in a KeepTogether
    (without a KeepTogether's measuring it once more). Only a table taller than a page is split,
    from where it starts."""

    def split(self, availWidth, availHeight):
        if self.wrap(availWidth, availHeight)[1] <= FRAME_HEIGHT:
            return []  # the page ends here and the table starts the next
        return super().split(availWidth, availHeight)


def _collection_block(protocol: Protocol, tests) -> Table:
    rows = [[line("Collected: date ______________"), line("time ________"), line("by (initials) ________")],
            [line("Notes: ______________________________________________________________________________"), "", ""]]
    table = Table(rows, colWidths=[WIDTH * 0.4, WIDTH * 0.25, WIDTH * 0.35])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, GRID), ("SPAN", (0, 1), (2, 1)),
                               ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table
