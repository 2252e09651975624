"""Date parsing and formatting shared by the command line, import and the GUI."""

import datetime as dt
import functools


def parse_iso(text: object) -> dt.date:
    """Parse a strict ISO ``YYYY-MM-DD`` date; raise ``ValueError`` with a readable reason."""
    if isinstance(text, dt.date) and not isinstance(text, dt.datetime):
        return text
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)")
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date") from None


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped at the month end (31-Jan + 3 months = 30-Apr)."""
    from dateutil.relativedelta import relativedelta  # only here: the window starts on cached plans, without it
    return day + relativedelta(months=months)


@functools.lru_cache(maxsize=4096)
def display(day: dt.date | None, weekday: bool = False) -> str:
    """``03-Mar-2025`` (or ``Mon 03-Mar-2025``): unambiguous in every locale."""
    if day is None:
        return ""
    text = f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"
    return f"{_WEEKDAYS[day.weekday()]} {text}" if weekday else text


def month(day: dt.date) -> str:
    """The month as every displayed date names it ('Mar'), whatever the machine's locale."""
    return _MONTHS[day.month - 1]


def display_window(start: dt.date, end: dt.date, sep: str = " – ") -> str:
    """A visit window as people read it: one day alone, else ``start – end``."""
    return display(start) if start == end else f"{display(start)}{sep}{display(end)}"


# Fixed English abbreviations: strftime would follow the machine's locale.
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
