"""Every question and message the GUI puts to the user, in one replaceable place.

Screens call ``ask.error(...)``, ``ask.confirm(...)`` and so on through this
module, so a test can replace a function (``monkeypatch.setattr(ask, "reason",
...)``) instead of clicking a modal dialog that would block an offscreen run.
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from coordinator.errors import CoordinatorError
from coordinator.ui.words import readable

TITLE = "Coordinator"
BUSY_AFTER_MS = 400  # work done sooner shows no busy window
# Set for unattended runs (``open --smoke``): messages go to stderr instead of a box nobody can close.
UNATTENDED = False


def busy(parent: QWidget | None, label: str,
         modality: Qt.WindowModality = Qt.WindowModality.ApplicationModal):
    """A busy window (a QProgressDialog) over work that runs on a worker thread: no cancel button,
    shown only once the work has taken BUSY_AFTER_MS, closed by the caller when it is done."""
    from PySide6.QtWidgets import QProgressDialog
    progress = QProgressDialog(label, "", 0, 0, parent)
    progress.setCancelButton(None)
    progress.setWindowModality(modality)
    progress.setMinimumDuration(BUSY_AFTER_MS)
    progress.setValue(0)  # starts Qt's timer that shows it after that time
    return progress


def error(parent: QWidget | None, message: str) -> None:
    """A known problem the user can act on: plain words, no traceback."""
    if UNATTENDED:
        print(f"coordinator: {message}", file=sys.stderr)
        return
    from PySide6.QtWidgets import QMessageBox  # the dialogs' classes load when first needed: a faster start
    QMessageBox.warning(parent, TITLE, readable(message))


def info(parent: QWidget | None, message: str) -> None:
    from PySide6.QtWidgets import QMessageBox
    QMessageBox.information(parent, TITLE, message)


def about(parent: QWidget | None, title: str, html: str) -> None:
    """The About box: what the program is, in rich text."""
    from PySide6.QtWidgets import QMessageBox
    QMessageBox.about(parent, title, html)


def bug(parent: QWidget | None, summary: str, details: str) -> None:
    """Anything unexpected is a bug: say so, and keep the details for the report."""
    if UNATTENDED:
        print(f"coordinator: bug: {summary}\n{details}", file=sys.stderr)
        return
    from PySide6.QtWidgets import QMessageBox
    box = QMessageBox(QMessageBox.Icon.Critical, TITLE,
                      "Something went wrong inside Coordinator (a bug). Nothing half-done was saved: "
                      "every change is saved whole or not at all.\n\n" + summary, parent=parent)
    box.setDetailedText(details)
    box.exec()


def confirm(parent: QWidget | None, question: str, yes: str = "Yes") -> bool:
    if UNATTENDED:  # nobody to answer: the question and 'no' on stderr
        print(f"coordinator: {question}\n(unattended: not done)", file=sys.stderr)
        return False
    from PySide6.QtWidgets import QMessageBox
    box = QMessageBox(QMessageBox.Icon.Question, TITLE, question, parent=parent)
    ok = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(ok)
    box.exec()
    return box.clickedButton() is ok


def text(parent: QWidget | None, title: str, label: str, value: str = "") -> str | None:
    """One line of text, or None when cancelled."""
    from PySide6.QtWidgets import QInputDialog, QLineEdit
    answer, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, value)
    return answer.strip() if ok else None


def save_file(parent: QWidget | None, title: str, suggested: str, filters: str) -> str | None:
    """Where to save a file, or None when cancelled."""
    from PySide6.QtWidgets import QFileDialog
    name, _ = QFileDialog.getSaveFileName(parent, title, suggested, filters)
    return name or None


def open_file(parent: QWidget | None, title: str, folder: str, filters: str) -> str | None:
    """Which file to open, or None when cancelled."""
    from PySide6.QtWidgets import QFileDialog
    name, _ = QFileDialog.getOpenFileName(parent, title, folder, filters)
    return name or None


def folder(parent: QWidget | None, title: str, start: str) -> str | None:
    """Which folder, or None when cancelled."""
    from PySide6.QtWidgets import QFileDialog
    return QFileDialog.getExistingDirectory(parent, title, start) or None


def reason(parent: QWidget | None, what: str) -> str | None:
    """Why an already-recorded value is being corrected (the audit trail keeps it); None = cancel."""
    while True:
        answer = text(parent, "Reason for the correction",
                      f"{what}\n\nA correction of a recorded value needs a reason (kept in the audit trail):")
        if answer is None or answer:
            return answer


def failure(parent: QWidget | None, what: str, exc: BaseException) -> None:
    """A background read failed: a known problem as a message, anything else as a bug."""
    if isinstance(exc, CoordinatorError):
        error(parent, f"{what}\n\n{exc}")
    else:
        bug(parent, f"{what} ({type(exc).__name__}: {exc})",
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
