"""Printing what is on screen: the day's due list, or a visit's checklist to tick on paper.

The forms proper (lab requisitions, dosing calendars) are made as PDF in the
core; this prints the working lists through the system's print dialog (CUPS on
Linux), which can also save as PDF.
"""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QPageLayout, QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QWidget

from coordinator.dates import display, display_window
from coordinator.ui.status import item_look

STYLE = ("<style>body{font-family:'DejaVu Sans',sans-serif;font-size:9pt} h2{margin:0} "
         "table{border-collapse:collapse;width:100%} th,td{border:1px solid #888;padding:3px;text-align:left}"
         "th{background:#eee}</style>")


def choose_printer(parent: QWidget | None, printer: QPrinter) -> bool:
    """The system's print dialog (replaceable in tests, like ``ask``)."""
    return QPrintDialog(printer, parent).exec() == QDialog.DialogCode.Accepted


def print_html(parent: QWidget | None, title: str, html: str, printer: QPrinter | None = None) -> bool:
    printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setDocName(title)
    printer.setPageOrientation(QPageLayout.Orientation.Landscape)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    if not choose_printer(parent, printer):
        return False
    document = QTextDocument()
    document.setHtml(STYLE + html)
    document.print_(printer)
    return True


def rows_html(title: str, study: str, columns, rows, count: str, box: str = "") -> str:
    """A printed list: the screen's own columns (their titles and texts), and optionally a last
    column of boxes to tick on paper."""
    head = "".join(f"<th>{escape(c.title)}</th>" for c in columns) + (f"<th>{escape(box)}</th>" if box else "")
    lines = [f"<h2>{escape(title)}</h2><p>Study {escape(study)} · {escape(count)}</p>", f"<table><tr>{head}</tr>"]
    for row in rows:
        cells = "".join(f"<td>{escape(c.text(row))}</td>" for c in columns) + ("<td>☐</td>" if box else "")
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</table>")
    return "".join(lines)


def due_list_html(study: str, day, rows) -> str:
    from coordinator.ui.due_table import DueTableModel
    return rows_html(f"Due list · {display(day, weekday=True)}", study, DueTableModel.columns, rows, f"{len(rows)} rows",
                     box="Done")


def checklist_html(study: str, subject, visit, items) -> str:
    v = visit.visit
    lines = [f"<h2>{escape(subject.id)} {escape(subject.initials)} · {escape(v.code)} {escape(v.label)}</h2>"
             f"<p>Study {escape(study)} · target {escape(display(v.target, weekday=True))} · window "
             f"{escape(display_window(v.window_start, v.window_end))} · visit date ______________</p>",
             "<table><tr><th>Category</th><th>Procedure</th><th>Status</th><th>Done</th><th>Initials / notes</th></tr>"]
    for item in items:
        look = item_look(item.status)
        box = "☑" if item.status == "done" else ("–" if item.status == "not_applicable" else "☐")
        condition = f" <i>({escape(item.condition)})</i>" if item.condition else ""
        lines.append(f"<tr><td>{escape(item.category_label)}</td><td>{escape(item.label)}{condition}</td>"
                     f"<td>{escape(look.word)}</td><td style='font-size:14pt'>{box}</td><td></td></tr>")
    lines.append("</table><p>Coordinator ______________________ &nbsp; Date ____________</p>")
    return "".join(lines)


def registry_html(study: str, day, subjects) -> str:
    from coordinator.ui.subject_table import SubjectTableModel
    return rows_html(f"Subjects · {display(day, weekday=True)}", study, SubjectTableModel.columns, subjects,
                     f"{len(subjects)} subjects")
