"""What every form shares: the A4 page, the type styles, tick boxes and the page footer.

Boxes are drawn, not typed as "☐": the PDF's standard fonts have no such glyph, and a drawn
box prints the same on every printer.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
from collections.abc import Iterable
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.fonts import ps2tt, tt2ps
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

from coordinator.dates import display

PAGE = A4
MARGIN = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN  # the usable width of a page
FRAME_HEIGHT = PAGE[1] - 2 * MARGIN - 12  # what build's frame holds (it pads 6 pt top and bottom)
CELL_PAD_X, CELL_PAD_Y = 6, 3  # a reportlab table cell's padding, left and right, top and bottom (its default)
GRID = colors.HexColor("#777777")
SHADE = colors.HexColor("#E8E8E8")

TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=14, leading=17)
HEADING = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=10, leading=12, spaceBefore=5, spaceAfter=2)
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=11)
SMALL = ParagraphStyle("small", fontName="Helvetica", fontSize=7.5, leading=9)
BOLD = ParagraphStyle("bold", parent=BODY, fontName="Helvetica-Bold")


# The PDF standard fonts print only the Western European letters (WinAnsi): a name like Łukasz,
# Dvořák or Иванов, or a sign like ≥, would print as black boxes. Those characters are printed in
# DejaVu Sans instead (shipped in resources/fonts: Latin, Greek, Cyrillic and signs; not CJK).
FALLBACK = {"Helvetica": "DejaVuSans", "Helvetica-Bold": "DejaVuSans-Bold", "Helvetica-Oblique": "DejaVuSans-Oblique",
            "Helvetica-BoldOblique": "DejaVuSans-Bold"}


def _fonts_folder() -> Path:
    beside = Path(__file__).resolve().parent.parent.parent / "resources" / "fonts"  # a checkout, the bundle
    if beside.is_dir():
        return beside
    import importlib.resources  # an installed wheel
    return Path(importlib.resources.files("coordinator.resources").joinpath("fonts"))


@functools.lru_cache(maxsize=None)
def _fallback(font: str) -> str:
    """The font for the characters ``font`` cannot print, registered with reportlab at first use."""
    name = FALLBACK.get(font, "DejaVuSans")
    try:
        pdfmetrics.getFont(name)
    except KeyError:
        from reportlab.pdfbase.ttfonts import TTFont
        for face in set(FALLBACK.values()):
            pdfmetrics.registerFont(TTFont(face, str(_fonts_folder() / f"{face}.ttf")))
        registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold", italic="DejaVuSans-Oblique",
                           boldItalic="DejaVuSans-Bold")
    return name


def _printable(text: str, font: str = "Helvetica") -> bool:
    try:
        text.encode(pdfmetrics.getFont(font).encName)
        return True
    except (UnicodeEncodeError, AttributeError):  # AttributeError: a TrueType font, which has no such table
        return font not in FALLBACK


def in_fonts(text: str, font: str) -> list[tuple[str, str]]:
    """``text`` cut where it needs the fallback font: [(text, font)], as the PDF prints each piece."""
    if _printable(text, font):
        return [(text, font)]
    pieces: list[tuple[str, str]] = []
    for char in text:
        face = font if _printable(char, font) else _fallback(font)
        if pieces and pieces[-1][1] == face:
            pieces[-1] = (pieces[-1][0] + char, face)
        else:
            pieces.append((char, face))
    return pieces


def esc(text: object, how: str = "") -> str:
    """Text for a Paragraph (which reads a little XML); what the standard fonts cannot print is in
    the fallback font. ``how``: "b" or "i" where the text goes inside <b> or <i> (a <font> tag
    inside them would not be bold or italic)."""
    font = {"": "Helvetica", "b": "Helvetica-Bold", "i": "Helvetica-Oblique"}[how]
    out = []
    for piece, face in in_fonts(str(text), font):
        piece = piece.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(piece if face == font else f'<font name="{face}">{piece}</font>')
    return "".join(out)


def para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text, style)


def bold(text: object) -> tuple[str, str]:
    """A part of a ``line`` in bold: what ``<b>`` is in a Paragraph."""
    return str(text), "b"


def italic(text: object) -> tuple[str, str]:
    """A part of a ``line`` in italics: what ``<i>`` is in a Paragraph."""
    return str(text), "i"


def line(*parts: object | tuple[str, str], style: ParagraphStyle = BODY) -> Flowable:
    """Plain text (no markup: ``&`` and ``<`` are themselves) in ``style``, some parts in
    ``bold`` or ``italic``: it prints as the Paragraph of the same text and tags would, but on
    one line it is drawn directly, without parsing markup or breaking lines (most of a form's
    labels are short). Text that needs more than the line it is given is that Paragraph."""
    return Line([part if isinstance(part, tuple) else (str(part), "") for part in parts], style)


@functools.lru_cache(maxsize=64)  # a style is hashed as itself (by identity): the forms have a dozen
def _plain_style(style: ParagraphStyle) -> bool:
    """A style whose one line of text is the text at the left edge: no indents, alignment,
    decoration or transformation of the text."""
    flags = ("leftIndent", "rightIndent", "firstLineIndent", "backColor", "textTransform", "endDots", "wordWrap",
             "shaping", "bulletText", "autoLeading")
    return getattr(style, "alignment", TA_LEFT) == TA_LEFT and not any(getattr(style, flag, None) for flag in flags) \
        and not (getattr(style, "borderWidth", 0) and getattr(style, "borderColor", None))


@functools.lru_cache(maxsize=4096)
def _text_width(text: str, font: str, size: float) -> float:
    return stringWidth(text, font, size)  # a form's labels come back page after page


class Line(Flowable):
    """See ``line``. Drawn as Paragraph draws a line of a left-aligned paragraph: the first
    baseline ``fontSize`` below the top, the line ``leading`` high, the whole width taken."""

    def __init__(self, parts: list[tuple[str, str]], style: ParagraphStyle):
        super().__init__()
        self.parts, self.style = parts, style
        self.spaceBefore, self.spaceAfter = style.spaceBefore, style.spaceAfter
        text = "".join(text for text, _ in parts)
        fonts = {"": style.fontName}
        if any(how for _, how in parts):  # bold and italics of the style's font, as the Paragraph's parser picks them
            family, b, i = ps2tt(style.fontName)
            fonts |= {"b": tt2ps(family, 1, i), "i": tt2ps(family, b, 1)}
        self._runs = [piece for text, how in parts if text for piece in in_fonts(text, fonts[how])]
        # what the Paragraph would not print as it is (it folds white space) goes to the Paragraph
        plain = bool(text) and " ".join(text.split()) == text and text.isprintable() and "\xad" not in text \
            and _plain_style(style)
        self._width = sum(_text_width(t, font, style.fontSize) for t, font in self._runs) if plain else math.inf
        self._paragraph: Paragraph | None = None
        self._wrapped: Paragraph | None = None  # the Paragraph, when the last wrap needed it

    def fits(self, width: float) -> bool:
        """Whether it goes on one line ``width`` wide as plain text (else it is its Paragraph)."""
        return self._width < width - 1e-6

    def write(self, text_object, x: float, top: float) -> None:
        """Into ``text_object`` (a canvas's): the line as ``drawOn`` draws it, its top at ``top``
        (for a flowable drawing many lines at once)."""
        text_object.setTextOrigin(x, top - self.style.fontSize)
        text_object.setFillColor(self.style.textColor)
        for words, font in self._runs:
            text_object.setFont(font, self.style.fontSize, self.style.leading)
            text_object.textOut(words)

    def paragraph(self) -> Paragraph:
        if self._paragraph is None:
            tags = {"b": ("<b>", "</b>"), "i": ("<i>", "</i>"), "": ("", "")}
            self._paragraph = Paragraph("".join(tags[how][0] + esc(text, how) + tags[how][1] for text, how in self.parts),
                                        self.style)
        return self._paragraph

    def wrap(self, availWidth, availHeight):
        if self.fits(availWidth):  # on one line, with room to spare (Paragraph's rounding aside)
            self._wrapped = None
            self.width, self.height = availWidth, self.style.leading
            return self.width, self.height
        self._wrapped = self.paragraph()
        self.width, self.height = self._wrapped.wrap(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        return self._wrapped.split(availWidth, availHeight) if self._wrapped is not None else []

    def minWidth(self):
        return self.paragraph().minWidth()

    def drawOn(self, canvas, x, y, _sW=0):
        if self._wrapped is not None:
            self._wrapped.drawOn(canvas, x, y, _sW)
            return
        canvas.saveState()  # the text's font and colour are its own
        text = canvas.beginText()
        self.write(text, self._hAlignAdjust(x, _sW), y + self.height)
        canvas.drawText(text)
        canvas.restoreState()


class Stack(Flowable):
    """Flowables one below the other, spaced as in a table's cell: a cell's content as one part
    (see ``stamps``)."""

    def __init__(self, flowables: list[Flowable]):
        super().__init__()
        self.flowables = flowables

    def wrap(self, availWidth, availHeight):
        widths, total = [0.0], 0.0
        for f in self.flowables:
            width, height = f.wrap(availWidth, availHeight)
            widths.append(width)
            total += height + f.getSpaceBefore() + f.getSpaceAfter()
        if self.flowables:
            total -= self.flowables[0].getSpaceBefore() + self.flowables[-1].getSpaceAfter()
        self.width, self.height = max(widths), total
        return self.width, self.height

    def drawOn(self, canvas, x, y, _sW=0):
        x, top = self._hAlignAdjust(x, _sW), y + self.height
        for f in self.flowables:
            top -= f.getSpaceBefore() + f.height
            f.drawOn(canvas, x, top)
            top -= f.getSpaceAfter()


class Inset(Flowable):
    """A shared part (``stamps``) with the page's own flowable drawn in the room it leaves for it: a
    table whose top-right cell, padded CELL_PAD_X and CELL_PAD_Y, holds a Spacer of the flowable's
    size, the flowable as wide as the cell's room or aligned right in it. A form's header is the same
    on many pages but for its barcode or its subject."""

    def __init__(self, shared: Flowable, own: Flowable):
        super().__init__()
        self.shared, self.own = shared, own
        self.hAlign = shared.hAlign  # a table's: centred on the frame, whose padding it spans

    def wrap(self, availWidth, availHeight):
        self.width, self.height = self.shared.wrap(availWidth, availHeight)
        return self.width, self.height

    def drawOn(self, canvas, x, y, _sW=0):
        x = self._hAlignAdjust(x, _sW)
        self.shared.drawOn(canvas, x, y)
        self.own.drawOn(canvas, x + self.width - CELL_PAD_X - self.own.width,
                        y + self.height - CELL_PAD_Y - self.own.height)


class TickBox(Flowable):
    """An empty square to tick by hand."""

    def __init__(self, size: float = 3.2 * mm):
        super().__init__()
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, 0, self.size, self.size)


class Label(Flowable):
    """Names the form that starts here ('subject 101-001 · dosing calendar, cycle 2') in the footer
    of its pages: a page that runs over onto the next, or is separated from the others, still says
    whose it is and what. Takes no room."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self.width = self.height = 0

    def draw(self) -> None:
        Footer.label(self.canv, self.text)


class Footer:
    """'Study CODE · the page's form · printed DATE · page N' at the foot of every page, drawn when
    the page is done (its form's ``Label`` has been met by then)."""

    def __init__(self, study: str, printed: dt.date):
        self.study, self.printed = f"Study {study}", f"printed {display(printed, weekday=True)}"

    @staticmethod
    def label(canvas, text: str) -> None:
        canvas.coordinator_form = text  # the canvas is the document's: what its later pages are

    def __call__(self, canvas, doc) -> None:
        form = getattr(canvas, "coordinator_form", "")
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(GRID)
        canvas.drawString(MARGIN, MARGIN / 2, "  ·  ".join(part for part in (self.study, form, self.printed) if part))
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN / 2, f"page {doc.page}")
        canvas.restoreState()


def build(story: Iterable[Flowable], title: str, study: str, printed: dt.date) -> bytes:
    """The PDF's bytes. ``title`` goes into the document's metadata (no names, no MRNs)."""
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=MARGIN, title=title, author="coordinator", creator="coordinator")
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="normal")  # a SimpleDocTemplate's
    doc.addPageTemplates([PageTemplate(id="form", frames=[frame], onPageEnd=Footer(study, printed), pagesize=PAGE)])
    doc.build(list(story))
    return out.getvalue()
