"""The first start, when there is no database yet: a new study, or the demo to look around."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from coordinator import protocol as protocol_mod
from coordinator.errors import CoordinatorError
from coordinator.ui import ask


def choose_protocol_file(parent: QWidget) -> str:
    """The system's file dialog (replaceable in tests, like ``ask``); '' when cancelled."""
    name, _ = QFileDialog.getOpenFileName(parent, "Protocol file", "", "Protocol files (*.toml)")
    return name


class FirstRunDialog(QDialog):
    def __init__(self, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice: tuple[str, Path | None] | None = None
        self.setWindowTitle("Welcome to Coordinator")
        self._build_ui(path)

    def _build_ui(self, path: Path) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(f"There is no study database at<br><b>{path}</b><br>yet. What would you like to do?")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        demo = QPushButton("Explore the demo study (synthetic subjects at every stage)")
        demo.setDefault(True)
        demo.clicked.connect(self._on_demo_clicked)
        bundled = protocol_mod.load()
        new = QPushButton(f"Start a new study: {bundled.code} ({bundled.short_title})")
        new.clicked.connect(self._on_new_clicked)
        other = QPushButton("Start a new study from another protocol file…")
        other.clicked.connect(self._on_other_clicked)
        quit_button = QPushButton("Quit")
        quit_button.clicked.connect(self.reject)
        for button in (demo, new, other, quit_button):
            layout.addWidget(button)

    def _on_demo_clicked(self) -> None:
        self.choice = ("demo", None)
        self.accept()

    def _on_new_clicked(self) -> None:
        self.choice = ("new", None)
        self.accept()

    def _on_other_clicked(self) -> None:
        name = choose_protocol_file(self)
        if not name:
            return
        try:
            protocol_mod.load(name)  # a broken file is reported here, before any database exists
        except CoordinatorError as exc:
            ask.error(self, f"This protocol file cannot be used.\n\n{exc}")
            return
        self.choice = ("new", Path(name))
        self.accept()

    @classmethod
    def choose(cls, path: Path) -> tuple[str, Path | None] | None:
        dialog = cls(path)
        dialog.exec()
        return dialog.choice
