"""The first start, when there is no database yet: a new study, or the demo to look around."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

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
        demo = QPushButton("Explore the demo study (synthetic subjects at every stage)")
        demo.setDefault(True)
        demo.clicked.connect(self._on_demo_clicked)
        new = QPushButton("Start a new study database…")
        new.clicked.connect(self._on_new_clicked)
        quit_button = QPushButton("Quit")
        quit_button.clicked.connect(self.reject)
        for button in (demo, new, quit_button):
            layout.addWidget(button)

    def _on_demo_clicked(self) -> None:
        self.choice = ("demo", None)
        self.accept()

    def _on_new_clicked(self) -> None:
        bundled = protocol_mod.load()
        use_bundled = ask.confirm(self, f"Use the bundled protocol {bundled.code} ({bundled.short_title})?\n\n"
                                  "Choose 'Other file…' to load another study's protocol file.", yes="Use it")
        if use_bundled:
            self.choice = ("new", None)
            self.accept()
            return
        name, _ = QFileDialog.getOpenFileName(self, "Protocol file", "", "Protocol files (*.toml)")
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
