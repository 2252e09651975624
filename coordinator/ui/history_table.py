"""A subject's history: every change from the audit trail, newest first, with who, when and why."""

from __future__ import annotations

import datetime as dt

from coordinator.ui.table import Column, RowTableModel


def local_time(at: str) -> str:
    """The audit trail keeps UTC; the coordinator reads their own clock ('03-Mar-2025 14:05')."""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone()
    return moment.strftime("%d-") + ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                      "Dec"][moment.month - 1] + moment.strftime("-%Y %H:%M")


def _short(value: str | None) -> str:
    if value is None:
        return "–"
    return value if len(value) <= 80 else value[:77] + "…"


class HistoryTableModel(RowTableModel):
    columns = [
        Column("When", lambda r: local_time(r.at), sort=lambda r: r.seq),
        Column("Who", lambda r: r.user),
        Column("What", lambda r: r.action.replace("_", " ")),
        Column("Field", lambda r: r.field or ""),
        Column("Was", lambda r: _short(r.old), tip=lambda r: r.old or ""),
        Column("Now", lambda r: _short(r.new), tip=lambda r: r.new or ""),
        Column("Reason", lambda r: r.reason or ""),
    ]
