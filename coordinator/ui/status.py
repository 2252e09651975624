"""How each status looks: a word, a symbol and a colour, never colour alone (design.md).

Colours are the Okabe-Ito palette, safe for colour-blind readers; the symbols
keep a status readable in black and white and on a printout. Every symbol is in
DejaVu Sans, the font a bare Linux workstation has (no emoji).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor


@dataclass(frozen=True)
class Look:
    word: str
    symbol: str
    colour: str

    @property
    def text(self) -> str:
        return f"{self.symbol} {self.word}"

    def qcolor(self) -> QColor:
        return QColor(self.colour)


VISIT_LOOKS = {
    "done": Look("done", "✓", "#009E73"),
    "due": Look("due", "●", "#E69F00"),
    "overdue": Look("overdue", "▲", "#D55E00"),
    "missed": Look("missed", "✕", "#CC79A7"),
    "planned": Look("planned", "○", "#56B4E9"),
    "cancelled": Look("cancelled", "–", "#8C8C8C"),
    "upcoming": Look("upcoming", "○", "#56B4E9"),
    "closing": Look("window closes today", "◔", "#D55E00"),
    "expiring": Look("screening expires", "◇", "#0072B2"),
}

ITEM_LOOKS = {
    "done": Look("done", "☑", "#009E73"),
    "not_done": Look("not done", "☒", "#D55E00"),
    "not_applicable": Look("not applicable", "–", "#8C8C8C"),
    "requested": Look("requested", "☐", "#E69F00"),
    "pending": Look("to do", "☐", "#000000"),
}

OUT_OF_WINDOW = "!"


def visit_look(status: str) -> Look:
    return VISIT_LOOKS.get(status, Look(status, "?", "#000000"))


def item_look(status: str) -> Look:
    return ITEM_LOOKS.get(status, Look(status, "?", "#000000"))
