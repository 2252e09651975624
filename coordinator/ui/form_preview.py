"""A form on screen before it goes to paper: its pages, then Print… or Save as PDF….

The PDF comes from the core (reportlab); pypdfium2 draws its pages here for the preview and,
where CUPS is missing (Windows), for printing through Qt. With CUPS the PDF itself is sent
(``coordinator.forms.printer``), so barcodes print sharp. Each print or save is one audit row.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pypdfium2
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from coordinator.errors import CoordinatorError
from coordinator.forms import printer as cups
from coordinator.ui import ask, printing
from coordinator.ui.session import Session

PREVIEW_DPI = 96
PRINT_DPI = 300


PREVIEW_PAGES = 30  # a 100-page packet previews its first pages; Print and Save take them all
_PDFIUM = threading.Lock()  # pdfium is not thread-safe: a packet's preview is drawn on a worker thread


def page_count(pdf: bytes) -> int:
    with _PDFIUM:
        document = pypdfium2.PdfDocument(pdf)
        try:
            return len(document)
        finally:
            document.close()


def iter_pages(pdf: bytes, dpi: float, limit: int | None = None):
    """The pages of ``pdf`` as images at ``dpi``, one at a time (a packet at print resolution
    would not fit in memory at once). A QImage, not a QPixmap: any thread may make it."""
    with _PDFIUM:
        document = pypdfium2.PdfDocument(pdf)
        try:
            for index in range(min(len(document), limit or len(document))):
                bitmap = document[index].render(scale=dpi / 72, rev_byteorder=True, prefer_bgrx=True)
                image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGBX8888)
                yield image.copy()  # own the pixels: the bitmap's buffer goes with the document
        finally:
            document.close()


def page_images(pdf: bytes, dpi: float, limit: int | None = None) -> list[QImage]:
    return list(iter_pages(pdf, dpi, limit))


def preview_pages(pdf: bytes, pixel_ratio: float) -> tuple[int, list[QImage]]:
    """What the preview shows: the page count and the first PREVIEW_PAGES pages drawn for a screen
    of ``pixel_ratio`` (a packet's are drawn on its worker thread: 30 pages at 2x take a second)."""
    return page_count(pdf), page_images(pdf, PREVIEW_DPI * pixel_ratio, PREVIEW_PAGES)


class FormPreviewDialog(QDialog):
    def __init__(self, session: Session, title: str, pdf: bytes, what: str, subject_id: str | None = None,
                 file_name: str = "form.pdf", parent: QWidget | None = None,
                 pages: tuple[int, list[QImage]] | None = None):
        """``pages``: ``preview_pages`` of ``pdf`` drawn already (elsewhere than on the GUI thread)."""
        super().__init__(parent)
        self.session = session
        self.pdf = pdf
        self.page_count, self.pages = pages or preview_pages(pdf, self.devicePixelRatioF())
        self.what = what  # for the audit trail: "requisition C1D8", "day packet 2025-03-10"...
        self.subject_id = subject_id
        self.file_name = file_name
        self.setWindowTitle(title)  # the form's kind, never a subject's name or id
        self._build_ui()
        page_width = max((image.width() for image in self.pages), default=600) / self.devicePixelRatioF()
        self.resize(int(page_width) + 60, 900)
        self._connect_signals()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        holder = QWidget()
        column = QVBoxLayout(holder)
        for image in self.pages:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            label = QLabel()
            label.setPixmap(pixmap)
            label.setStyleSheet("background: white; border: 1px solid #999;")
            column.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        scroll = QScrollArea()
        scroll.setWidget(holder)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 1)
        row = QHBoxLayout()
        shown = f" (the first {len(self.pages)} shown; all are printed)" if len(self.pages) < self.page_count else ""
        row.addWidget(QLabel(f"{self.page_count} page{'s' if self.page_count != 1 else ''}{shown}"), 1)
        self.print_button = QPushButton("Print…")
        self.print_button.setDefault(True)
        self.save_button = QPushButton("Save as PDF…")
        self.close_button = QPushButton("Close")
        for button in (self.print_button, self.save_button, self.close_button):
            row.addWidget(button)
        layout.addLayout(row)

    def _connect_signals(self) -> None:
        self.print_button.clicked.connect(self.print_form)
        self.save_button.clicked.connect(self.save_form)
        self.close_button.clicked.connect(self.reject)

    def print_form(self) -> bool:
        qprinter = QPrinter(QPrinter.PrinterMode.HighResolution)
        qprinter.setDocName(self.windowTitle())
        if not printing.choose_printer(self, qprinter):
            return False
        try:
            if qprinter.outputFormat() == QPrinter.OutputFormat.PdfFormat and qprinter.outputFileName():
                Path(qprinter.outputFileName()).write_bytes(self.pdf)  # "print to file": the PDF itself
                where = f"file {Path(qprinter.outputFileName()).name}"
            elif cups.available() and qprinter.printerName():
                cups.send(self.pdf, qprinter.printerName(), qprinter.copyCount(), self.windowTitle())
                where = f"printer {qprinter.printerName()}"
            else:
                self._paint(qprinter)
                where = f"printer {qprinter.printerName() or 'default'}"
        except (CoordinatorError, OSError) as exc:
            ask.error(self, f"Not printed: {exc}")
            return False
        self._record(f"{self.what} printed on {where}")
        return True

    def _paint(self, qprinter: QPrinter) -> None:
        """Without CUPS: each page drawn at the printer's resolution, fitted to its page."""
        painter = QPainter()
        if not painter.begin(qprinter):
            raise CoordinatorError("The printer could not be started.")
        try:
            for n, image in enumerate(iter_pages(self.pdf, PRINT_DPI)):
                if n:
                    qprinter.newPage()
                target = painter.viewport()
                size = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.setViewport(target.x(), target.y(), size.width(), size.height())
                painter.setWindow(image.rect())
                painter.drawImage(0, 0, image)
                painter.setViewport(target)
        finally:
            painter.end()

    def save_form(self) -> bool:
        name = ask.save_file(self, "Save the form as PDF", self.file_name, "PDF files (*.pdf)")
        if not name:
            return False
        try:
            change = self.session.service.save_form(Path(name), self.pdf, self.what, self.subject_id)
        except CoordinatorError as exc:
            ask.error(self, str(exc))
            return False
        self.session.notify(change)
        return True

    def _record(self, what: str) -> None:
        try:
            change = self.session.service.record_print(what, self.subject_id)
        except CoordinatorError as exc:
            ask.error(self, f"The form went out, but the audit trail could not record it: {exc}")
            return
        self.session.notify(change)


def preview(parent: QWidget, session: Session, title: str, make, what: str, subject_id: str | None,
            file_name: str) -> None:
    """Make a form (``make()`` returns its PDF) and show it; a form that cannot be made says why."""
    try:
        pdf = make()
    except CoordinatorError as exc:
        ask.error(parent, f"This form cannot be made: {exc}")
        return
    FormPreviewDialog(session, title, pdf, what, subject_id, file_name, parent).exec()


def requisition(parent: QWidget, session: Session, subject_id: str, visit: str) -> None:
    # looking at another day is printing ahead for it; on today, the service picks the collection day
    ahead = session.day if session.day != session.service.today else None
    preview(parent, session, "Lab requisition", lambda: session.service.requisition_pdf(subject_id, visit, ahead),
            f"requisition {visit}", subject_id, f"requisition-{subject_id}-{visit}.pdf")


def dosing(parent: QWidget, session: Session, subject_id: str, cycle: int) -> None:
    preview(parent, session, "Dosing form", lambda: session.service.dosing_pdf(subject_id, cycle),
            f"dosing form cycle {cycle}", subject_id, f"dosing-{subject_id}-C{cycle}.pdf")
