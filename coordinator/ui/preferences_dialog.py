"""This workstation's preferences (QSettings, per user): for now, when the window locks itself."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from coordinator.service import Service
from coordinator.ui import settings

MAX_LOCK_MINUTES = 120


class PreferencesDialog(QDialog):
    def __init__(self, service: Service, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Preferences")
        self._build_ui()
        self._connect_signals()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.lock_minutes = QSpinBox()
        self.lock_minutes.setRange(0, MAX_LOCK_MINUTES)
        self.lock_minutes.setSuffix(" minutes")
        self.lock_minutes.setSpecialValueText("never")  # shown at 0
        self.lock_minutes.setValue(min(max(settings.LOCK_MINUTES.get(), 0), MAX_LOCK_MINUTES))
        form.addRow("Lock the window after", self.lock_minutes)
        layout.addLayout(form)
        if self.service.account is None:
            note = ("This database has no accounts (single-user mode), so there is no password to unlock with: "
                    "the window does not lock, whatever is set here. It will once accounts are added "
                    "(File ▸ Accounts…).")
        else:
            note = ("Counted from the last key press or mouse move. Locked, the window hides everything "
                    "identifying until your password is given again. Ctrl+L locks it at once.")
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def _connect_signals(self) -> None:
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def accept(self) -> None:
        settings.LOCK_MINUTES.set(self.lock_minutes.value())
        super().accept()
