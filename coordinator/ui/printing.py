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
from coordinator.ui.status import item_look, visit_look

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


def due_list_html(study: str, day, rows) -> str:
    lines = [f"<h2>Due list · {escape(display(day, weekday=True))}</h2><p>Study {escape(study)} · {len(rows)} rows</p>",
             "<table><tr><th>Status</th><th>Subject</th><th>Initials</th><th>Visit</th><th>Target</th><th>Window</th><th>When</th>"
             "<th>Checklist</th><th>Done</th></tr>"]
    for r in rows:
        look = visit_look(r.section)
        lines.append(f"<tr><td>{look.symbol} {escape(look.word)}</td><td>{escape(r.subject)}</td><td>{escape(r.initials)}</td><td>{escape(r.visit)}</td>"
                     f"<td>{escape(display(r.target, weekday=True))}</td><td>{escape(r.window)}</td>"
                     f"<td>{escape(r.when)}</td><td>{escape(r.progress)}</td><td>☐</td></tr>")
    lines.append("</table>")
    return "".join(lines)


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
    columns = SubjectTableModel.columns
    lines = [f"<h2>Subjects · {escape(display(day, weekday=True))}</h2><p>Study {escape(study)} · {len(subjects)} subjects</p>",
             "<table><tr>" + "".join(f"<th>{escape(c.title)}</th>" for c in columns) + "</tr>"]
    for s in subjects:
        lines.append("<tr>" + "".join(f"<td>{escape(c.text(s))}</td>" for c in columns) + "</tr>")
    lines.append("</table>")
    return "".join(lines)
