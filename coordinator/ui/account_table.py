"""The study's accounts as the administrator sees them: never a password or its hash (``Account`` has none)."""

from __future__ import annotations

from coordinator.accounts import Account
from coordinator.ui.status import visit_look
from coordinator.ui.table import Column, RowTableModel
from coordinator.ui.times import local_day


def _status(account: Account) -> str:
    return "✓ active" if account.active else f"✕ disabled {local_day(account.disabled_at)}"


class AccountTableModel(RowTableModel):
    columns = [
        Column("Name", lambda a: a.name),
        Column("Display name", lambda a: a.display_name),
        Column("Role", lambda a: a.role),
        Column("Status", _status, sort=lambda a: (not a.active, a.disabled_at or ""),
               colour=lambda a: visit_look("done").colour if a.active else visit_look("cancelled").colour),
        Column("Failed log-ins", lambda a: str(a.failed_logins) if a.failed_logins else "", sort=lambda a: a.failed_logins,
               tip=lambda a: "failed log-ins in a row since the last good one" if a.failed_logins else "",
               align_right=True),
        Column("Created", lambda a: local_day(a.created_at), sort=lambda a: a.created_at),
    ]
