"""What every form shares: the A4 page, the type styles, tick boxes and the page footer.

Boxes are drawn, not typed as "☐": the PDF's standard fonts have no such glyph, and a drawn
box prints the same on every printer.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

from coordinator.dates import display

PAGE = A4
MARGIN = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN  # the usable width of a page
GRID = colors.HexColor("#777777")
SHADE = colors.HexColor("#E8E8E8")

TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=14, leading=17)
HEADING = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=10, leading=12, spaceBefore=5, spaceAfter=2)
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=11)
SMALL = ParagraphStyle("small", fontName="Helvetica", fontSize=7.5, leading=9)
BOLD = ParagraphStyle("bold", parent=BODY, fontName="Helvetica-Bold")


def esc(text: object) -> str:
    """Text for a Paragraph (which reads a little XML)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text, style)


class TickBox(Flowable):
    """An empty square to tick by hand; ``ticked`` draws a cross (already done)."""

    def __init__(self, size: float = 3.2 * mm, ticked: bool = False):
        super().__init__()
        self.size = size
        self.ticked = ticked
        self.width = self.height = size

    def draw(self) -> None:
        c = self.canv
        c.setLineWidth(0.8)
        c.rect(0, 0, self.size, self.size)
        if self.ticked:
            c.line(0, 0, self.size, self.size)
            c.line(0, self.size, self.size, 0)


class Footer:
    """'Study CODE · document · printed DATE · page N' at the foot of every page."""

    def __init__(self, study: str, printed: dt.date):
        self.text = f"Study {study}  ·  printed {display(printed, weekday=True)}"

    def __call__(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(GRID)
        canvas.drawString(MARGIN, MARGIN / 2, self.text)
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN / 2, f"page {doc.page}")
        canvas.restoreState()


def build(story: Iterable[Flowable], title: str, study: str, printed: dt.date) -> bytes:
    """The PDF's bytes. ``title`` goes into the document's metadata (no names, no MRNs)."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=title, author="coordinator", creator="coordinator")
    footer = Footer(study, printed)
    doc.build(list(story), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
