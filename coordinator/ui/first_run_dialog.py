"""The first start, when there is no database yet: a new study, or the demo to look around."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from coordinator import protocol as protocol_mod
from coordinator.errors import CoordinatorError
from coordinator.ui import ask


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
        self.demo_button = QPushButton("Explore the demo study (synthetic subjects at every stage)")
        self.demo_button.setDefault(True)
        self.demo_button.clicked.connect(self._on_demo_clicked)
        bundled = protocol_mod.load()
        self.new_button = QPushButton(f"Start a new study: {bundled.code} ({bundled.short_title})")
        self.new_button.clicked.connect(self._on_new_clicked)
        self.other_button = QPushButton("Start a new study from another protocol file…")
        self.other_button.clicked.connect(self._on_other_clicked)
        self.quit_button = QPushButton("Quit")
        self.quit_button.clicked.connect(self.reject)
        for button in (self.demo_button, self.new_button, self.other_button, self.quit_button):
            layout.addWidget(button)

    def _on_demo_clicked(self) -> None:
        self.choice = ("demo", None)
        self.accept()

    def _on_new_clicked(self) -> None:
        self.choice = ("new", None)
        self.accept()

    def _on_other_clicked(self) -> None:
        name = ask.open_file(self, "Protocol file", "", "Protocol files (*.toml)")
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
