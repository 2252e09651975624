"""The local SQLite store (over sqlite-utils). No Qt here; rows leave as dataclasses."""

from coordinator.db.store import AuditRow, Store, Transaction

__all__ = ["AuditRow", "Store", "Transaction"]
