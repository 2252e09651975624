"""This workstation's preferences (QSettings, per user): when the window locks itself, and where
its automatic backups go."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from coordinator.service import AUTO_BACKUPS_KEPT, Service, default_backup_folder
from coordinator.ui import access, ask, settings
from coordinator.ui.backups import AUTO_BACKUP_MINUTES

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
        self.lock_minutes.setSuffix(" minutes")
        minutes = min(max(settings.LOCK_MINUTES.get(), 0), MAX_LOCK_MINUTES)
        if self.service.account is None:
            self.lock_minutes.setRange(0, MAX_LOCK_MINUTES)
            self.lock_minutes.setSpecialValueText("never")  # (Qt shows it at the minimum)
        else:  # with accounts, the window always locks: a workstation may only choose how soon (0: the default)
            self.lock_minutes.setRange(1, MAX_LOCK_MINUTES)
            minutes = minutes or settings.LOCK_MINUTES.default
        self.lock_minutes.setValue(minutes)
        form.addRow("Lock the window after", self.lock_minutes)
        self.backup_folder = QLineEdit(settings.BACKUP_FOLDER.get())
        self.backup_folder.setPlaceholderText(str(default_backup_folder(self.service.path)))
        self.backup_folder.setToolTip("Empty: the 'backups' folder beside the database. Another disk is safer.")
        self.choose_folder = QPushButton("Choose…")
        row = QHBoxLayout()
        row.addWidget(self.backup_folder, 1)
        row.addWidget(self.choose_folder)
        form.addRow("Automatic backups in", row)
        access.restrict(self.service, "backup", self.backup_folder, self.choose_folder)  # where study copies go
        layout.addLayout(form)
        if self.service.account is None:
            note = ("This database has no accounts (single-user mode), so there is no password to unlock with: "
                    "the window does not lock, whatever is set here. It will once accounts are added "
                    "(File ▸ Accounts…).")
        else:
            note = ("Counted from the last key press or mouse move. Locked, the window hides everything "
                    "identifying until your password is given again. Ctrl+L locks it at once.")
        note += (f"\n\nAutomatic backups are made every {AUTO_BACKUP_MINUTES} minutes while the window is open and "
                 f"when it closes, if anything changed; the newest {AUTO_BACKUPS_KEPT} are kept. A folder on another disk (not a "
                 "network share for the database itself) survives a failed disk.")
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def _connect_signals(self) -> None:
        self.choose_folder.clicked.connect(self._on_choose_folder_clicked)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def _on_choose_folder_clicked(self) -> None:
        start = self.backup_folder.text().strip() or self.backup_folder.placeholderText()
        folder = ask.folder(self, "Folder for automatic backups", start)
        if folder:
            self.backup_folder.setText(folder)

    def accept(self) -> None:
        settings.LOCK_MINUTES.set(self.lock_minutes.value())
        if self.backup_folder.isEnabled():
            settings.BACKUP_FOLDER.set(self.backup_folder.text().strip())
        super().accept()
