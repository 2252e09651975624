"""Shared parts (``forms.stamps``): written once into the PDF, printed on every page that has them,
exactly where the part drawn on the page itself would print."""

import datetime as dt
import re

from pdfs import placed
from reportlab.platypus import PageBreak, Spacer, Table, TableStyle

from coordinator.forms.common import BODY, FRAME_HEIGHT, GRID, WIDTH, Stack, bold, build, line, para
from coordinator.forms.stamps import Stamps

PRINTED = dt.date(2025, 3, 3)


def words(pdf: bytes) -> list[list[tuple]]:
    """Each page's words with their boxes, exactly as pdftotext places them."""
    return placed(pdf, digits=6, box=True)


def forms(pdf: bytes) -> int:
    return len(re.findall(rb"/Subtype /Form", pdf))


def part(n: int = 3) -> Table:
    table = Table([[line("Specimen ", bold("SERUM"))]] + [[para(f"Test {i}: a longer text " * 3, BODY)] for i in range(n)],
                  colWidths=[WIDTH])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, GRID), ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID)]))
    return table


def stack() -> Stack:
    return Stack([line("LAB REQUISITION"), Spacer(1, 4), line("Ordering investigator: ____")])


def story(shared) -> list:
    """Three pages, each a line of its own, then two shared parts: a table and a stack of lines.
    ``shared(key, make)``: what stands on the page for the part ``make()``."""
    out = []
    for page in range(3):
        out += [line(f"Page {page} of the subject 101-00{page}"), Spacer(1, 12), shared(("part",), part),
                shared(("stack",), stack), PageBreak()]
    return out[:-1]


def test_a_shared_part_is_written_once_and_prints_on_every_page_where_it_would():
    stamped = build(story(Stamps()), "t", "TEST", PRINTED)
    direct = build(story(lambda key, make: make()), "t", "TEST", PRINTED)
    assert words(stamped) == words(direct)  # every word on its page, in its place
    assert len(words(stamped)) == 3
    assert forms(stamped) == 2 and forms(direct) == 0  # the table and the stack, each once


def test_a_part_too_tall_for_the_rest_of_the_page_splits_as_itself():
    tall = lambda: part(60)  # noqa: E731  (taller than a page)
    assert tall().wrap(WIDTH, FRAME_HEIGHT)[1] > FRAME_HEIGHT
    stamps = Stamps()
    stamped = build([line("Before"), stamps(("tall",), tall)], "t", "TEST", PRINTED)
    direct = build([line("Before"), tall()], "t", "TEST", PRINTED)
    assert words(stamped) == words(direct)
    assert len(words(stamped)) >= 2


def test_each_document_gets_its_own_forms():
    """One Stamps drawn into two documents (a preview, then the print) writes its forms into each."""
    stamps = Stamps()
    first = build([stamps(("part",), part)], "t", "TEST", PRINTED)
    second = build([stamps(("part",), part)], "t", "TEST", PRINTED)
    assert forms(first) == forms(second) == 1
    assert words(first) == words(second)


def test_the_form_holds_the_lines_drawn_on_its_edges():
    """A table's box is drawn half outside it: the form's bounding box leaves room for it."""
    stamps = Stamps()
    pdf = build([stamps(("part",), part)], "t", "TEST", PRINTED)
    box = re.search(rb"/BBox \[ ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) \]", pdf)
    left, bottom, right, top = map(float, box.groups())
    width, height = part().wrap(WIDTH, FRAME_HEIGHT)
    assert left < -0.4 and bottom < -0.4 and right > width + 0.4 and top > height + 0.4


def test_two_stamps_may_draw_into_one_document():
    first, second = Stamps(), Stamps()
    pdf = build([first(("x",), part), PageBreak(), second(("x",), stack)], "t", "TEST", PRINTED)
    assert forms(pdf) == 2
    first_page, second_page = (" ".join(word for *_, word in page) for page in words(pdf))
    assert "Specimen SERUM" in first_page and "LAB REQUISITION" in second_page
