"""The trail's UTC time stamps as the coordinator reads them: their own clock, with its zone.

Dates show as 03-Mar-2025 (``coordinator.dates.display``), never through strftime's
month names, which follow the workstation's locale.
"""

from __future__ import annotations

import datetime as dt

from coordinator.dates import display


def utc_moment(at: str) -> dt.datetime | None:
    """A stored time stamp ('2026-11-23T13:03:12.123456Z') as an aware moment; None if it is not one."""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def local_time(at: str, seconds: bool = True) -> str:
    """'23-Nov-2026 14:03:12 CET': the trail keeps UTC, the coordinator reads their own clock,
    and the zone says which clock that is (a monitor may read the trail elsewhere)."""
    moment = utc_moment(at)
    if moment is None:
        return at
    local = moment.astimezone()
    return f"{display(local.date())} {local.strftime('%H:%M:%S' if seconds else '%H:%M')} {zone_name(local)}"


def local_date(at: str) -> dt.date | None:
    """The day the time stamp fell on where the coordinator is."""
    moment = utc_moment(at)
    return moment.astimezone().date() if moment is not None else None


def local_day(at: str | None) -> str:
    """The local day as shown, '15-Jan-2026'; '' for none, the text itself if it is not a time stamp."""
    day = local_date(at) if at else None
    return display(day) if day is not None else (at or "")


def zone_name(moment: dt.datetime) -> str:
    """The zone's abbreviation (CET, EST); an offset where it has none ('+04') or a long name (Windows)."""
    name = moment.tzname() or ""
    if name and " " not in name and len(name) <= 5 and name[0] not in "+-":
        return name
    offset = moment.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
