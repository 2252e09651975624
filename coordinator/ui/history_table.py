"""A subject's history: every change from the audit trail, newest first, with who, when and why.

The columns are the study trail's (``audit_table``), less the subject (it is the one shown)."""

from __future__ import annotations

from coordinator.ui.audit_table import ACTION, FIELD, NOW, REASON, WAS, WHEN, WHO
from coordinator.ui.table import RowTableModel


class HistoryTableModel(RowTableModel):
    columns = [WHEN, WHO, ACTION, FIELD, WAS, NOW, REASON]
