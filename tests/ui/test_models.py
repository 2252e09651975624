"""Every table model passes Qt's own model checks (qtmodeltester), on real rows."""

import datetime as dt
import sys

from PySide6.QtCore import Qt

from coordinator import demo
from coordinator.ui.checklist_table import ChecklistTableModel
from coordinator.ui.due_table import DueTableModel, due_rows
from coordinator.ui.subject_table import SubjectTableModel
from coordinator.ui.table import SearchProxy
from coordinator.ui.visit_table import VisitRow, VisitTableModel
from helpers import TODAY


def _demo(service):
    service.import_subjects(demo.demo_subjects(service.protocol, TODAY), source="demo")
    return service


def test_due_model(qtmodeltester, service):
    rows = due_rows(_demo(service), TODAY, 7)
    assert {r.section for r in rows} >= {"overdue", "due", "upcoming", "expiring"}
    model = DueTableModel()
    model.set_rows(rows)
    qtmodeltester.check(model)
    qtmodeltester.check(SearchProxy(model))


def test_subject_model(qtmodeltester, service):
    model = SubjectTableModel()
    model.set_rows(_demo(service).subjects(TODAY))
    assert model.rowCount() == 14
    qtmodeltester.check(model)
    # a screening subject's next visit is its planned first dose, said to be a plan
    shown = {model.data(model.index(r, 0)): [model.data(model.index(r, c)) for c in range(model.columnCount())]
             for r in range(model.rowCount())}
    screening = [row for row in shown.values() if "screening" in row]
    assert screening and all(any(str(cell).startswith("C1D1 ") and str(cell).endswith(" (planned)") for cell in row)
                             for row in screening), screening


def test_visit_and_checklist_models(qtmodeltester, enrolled):
    timeline = enrolled.timeline("101-001", dt.date(2025, 3, 10))
    visits = VisitTableModel()
    visits.set_rows([VisitRow(tv) for tv in timeline.visits])
    qtmodeltester.check(visits)
    checklist = ChecklistTableModel()
    checklist.set_rows(enrolled.checklist("101-001", "C1D8").items)
    qtmodeltester.check(checklist)
    # a category's name shows on its first row only: the rows read as groups
    categories = [checklist.index(r, 0).data() for r in range(checklist.rowCount())]
    assert categories[0] and categories.count("") > 0


def test_sorting_puts_the_most_urgent_first(service):
    rows = due_rows(_demo(service), TODAY, 7)
    proxy = SearchProxy(DueTableModel())
    proxy.sourceModel().set_rows(list(reversed(rows)))
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    sections = [proxy.row(proxy.index(i, 0)).section for i in range(proxy.rowCount())]
    order = ["overdue", "closing", "due", "upcoming", "expiring"]
    assert sections == sorted(sections, key=order.index)


def test_reading_empty_cells_keeps_none_alive(service):
    """PySide6 6.12.0 dropped a reference to None each time Qt read None from a Python model,
    and the app crashed within minutes (pyproject pins below it). Guard against its return."""
    model = DueTableModel()
    model.set_rows(due_rows(_demo(service), TODAY, 7))
    proxy = SearchProxy(model)
    before = sys.getrefcount(None)
    for _ in range(20):
        for r in range(proxy.rowCount()):
            for c in range(proxy.columnCount()):
                proxy.index(r, c).data(Qt.ItemDataRole.DecorationRole)
    assert sys.getrefcount(None) >= before - 50


def test_history_model_lists_every_change_with_its_reason(qtmodeltester, enrolled):
    from coordinator.ui.history_table import HistoryTableModel
    enrolled.enroll("101-001", dt.date(2025, 3, 4), reason="first dose was a day later")
    model = HistoryTableModel()
    model.set_rows(enrolled.audit("101-001"))
    qtmodeltester.check(model)
    texts = {model.index(r, c).data() for r in range(model.rowCount()) for c in range(model.columnCount())}
    # dates read as on every screen (the tooltip keeps the stored ISO value)
    assert "first dose was a day later" in texts and "04-Mar-2025" in texts
