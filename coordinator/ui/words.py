"""Messages as the coordinator reads them: the core's ISO dates shown as 03-Mar-2025 (design.md)."""

from __future__ import annotations

import datetime as dt
import re

from coordinator.dates import display

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def readable(message: str) -> str:
    """Every ISO date in ``message`` as ``03-Mar-2025``; anything that is not a real date stays."""
    def show(match: re.Match) -> str:
        try:
            return display(dt.date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            return match[0]
    return _ISO_DATE.sub(show, message)
