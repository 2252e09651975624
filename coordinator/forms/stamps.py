"""Parts that many pages of one PDF share, laid out and drawn once, then placed on each page.

A day's packet repeats itself: every requisition of a visit type has the same specimen
tables, every dosing calendar of a regimen the same grid, dispensing table and reminders. A
``Stamp`` stands in the story for such a part. The part is made (``make()``) and measured the
first time its ``key`` is met; the first time it is drawn, it is drawn into a PDF form (an
XObject, a piece of page content the PDF holds once), and every page that has it only refers to
that form. The pages print the same; the PDF is smaller, and reportlab lays out and writes each
shared part once instead of on every page.

A part's ``key`` must name everything its ``make`` reads (its texts and their widths, beside the
protocol, which is one for a document): two parts with the same key print the same. A ``Stamps``
serves one document, or documents built one after another (each gets its forms written into it);
several may draw into one document.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from reportlab.platypus import Flowable

BLEED = 12  # points of room around a form's box: a table's outer lines are drawn half outside it


class Stamps:
    """The shared parts of a document, by key (a part is a flowable, or what makes one)."""

    def __init__(self) -> None:
        self._parts: dict[Hashable, object] = {}
        self._sizes: dict[tuple[Hashable, float], tuple[float, float]] = {}
        self._forms: dict[tuple[Hashable, float], str] = {}  # drawn already, on ``_canvas``
        self._canvas = None

    def __call__(self, key: Hashable, make: Callable[[], Flowable]) -> Stamp:
        """The part ``make()`` makes, for this document's pages; made only the first time ``key`` is met."""
        return Stamp(self, key, make)

    def part(self, key: Hashable, make: Callable[[], object]) -> object:
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = make()
        return part

    def size(self, key: Hashable, width: float, height: float, make) -> tuple[float, float]:
        size = self._sizes.get((key, width))
        if size is None:  # a part's size depends on the width it is given, not on the room below it
            size = self._sizes[(key, width)] = self.part(key, make).wrap(width, height)
        return size

    def form(self, canvas, key: Hashable, width: float, height: float, make) -> str:
        """The name of the form holding the part as laid out ``width`` wide, drawn into ``canvas``'s
        document the first time."""
        if canvas is not self._canvas:  # a new document: its forms are its own
            self._canvas, self._forms = canvas, {}
        name = self._forms.get((key, width))
        if name is None:
            # named for this Stamps too: another one may draw into the same document
            name = self._forms[(key, width)] = f"Stamp{id(self):x}.{len(self._forms)}"
            part = self.part(key, make)
            part_width, part_height = part.wrapOn(canvas, width, height)
            canvas.beginForm(name, -BLEED, -BLEED, part_width + BLEED, part_height + BLEED)
            part.drawOn(canvas, 0, 0)
            canvas.endForm()
        return name


class Stamp(Flowable):
    """See ``Stamps``: in the story, the shared part ``key``."""

    def __init__(self, stamps: Stamps, key: Hashable, make: Callable[[], Flowable]):
        super().__init__()
        self.stamps, self.key, self.make = stamps, key, make
        self._avail = (0.0, 0.0)
        part = stamps.part(key, make)
        self.hAlign = getattr(part, "hAlign", "LEFT")
        self.spaceBefore, self.spaceAfter = part.getSpaceBefore(), part.getSpaceAfter()

    def wrap(self, availWidth, availHeight):
        self._avail = (availWidth, availHeight)
        self.width, self.height = self.stamps.size(self.key, availWidth, availHeight, self.make)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        """Where the part does not fit, it splits (or moves on) as itself: those pieces are its own."""
        part = self.stamps.part(self.key, self.make)
        part.wrap(availWidth, availHeight)
        return part.split(availWidth, availHeight)

    def drawOn(self, canvas, x, y, _sW=0):
        name = self.stamps.form(canvas, self.key, self._avail[0], self._avail[1], self.make)
        canvas.saveState()
        canvas.translate(self._hAlignAdjust(x, _sW), y)
        canvas.doForm(name)
        canvas.restoreState()
