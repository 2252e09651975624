"""The GUI's settings, each declared once with its type and default (Picard's option registry).

Stored with QSettings (per user: ~/.config/coordinator on Linux). Tests point
QSettings at a temporary folder, so they never touch the user's own settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "coordinator"
APPLICATION = "coordinator"


@dataclass(frozen=True)
class Option:
    key: str
    default: object
    kind: type

    def get(self):
        value = QSettings().value(self.key, self.default)
        try:
            if self.kind is bool and isinstance(value, str):  # the INI backend keeps "true"/"false"
                return value.lower() == "true"
            return value if isinstance(value, self.kind) else self.kind(value)
        except (TypeError, ValueError):
            return self.default

    def set(self, value) -> None:
        QSettings().setValue(self.key, value)


GEOMETRY = Option("window/geometry", QByteArray(), QByteArray)
SUBJECT_SPLITTER = Option("window/subject_splitter", QByteArray(), QByteArray)
LAST_VIEW = Option("window/last_view", "today", str)
LAST_SUBJECT = Option("window/last_subject", "", str)
UPCOMING_DAYS = Option("dashboard/upcoming_days", 7, int)
TIMELINE_ZOOM = Option("timeline/px_per_day", 6.0, float)
# The window locks after this many minutes without a key press or a mouse move (0: never); only
# where the database has accounts, since single-user mode has no password to unlock with.
LOCK_MINUTES = Option("security/lock_minutes", 10, int)
BACKUP_FOLDER = Option("backup/folder", "", str)  # '' = 'backups' beside the database
