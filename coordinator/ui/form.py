"""A small form whose Save runs one service write.

A refused value shows under its own field (the service names the field in its
``InputError``), the dialog stays open with everything typed kept, and nothing
is saved. Changing a recorded value reveals a "reason for the correction" field,
since the audit trail needs one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from coordinator.errors import CoordinatorError, CorrectionNeedsReason, InputError
from coordinator.service import Change
from coordinator.ui.fields import DateEdit, ErrorLabel, password_edit
from coordinator.ui.session import Session


class FormDialog(QDialog):
    """Subclasses add fields in ``_build_fields`` and write in ``submit(values, reason)``."""

    def __init__(self, session: Session, title: str, intro: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.change: Change | None = None
        self._fields: dict[str, QWidget] = {}
        self._errors: dict[str, ErrorLabel] = {}
        self.setWindowTitle(title)
        self._build_ui(intro)
        self._build_fields()
        self._add_reason_field()

    def _build_ui(self, intro: str) -> None:
        outer = QVBoxLayout(self)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.intro.setVisible(bool(intro))
        outer.addWidget(self.intro)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        outer.addLayout(self.form)
        self.general_error = ErrorLabel()
        outer.addWidget(self.general_error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

    def _build_fields(self) -> None:
        raise NotImplementedError

    def submit(self, values: dict, reason: str | None) -> Change:
        raise NotImplementedError

    # -- fields --------------------------------------------------------------------------
    def add_field(self, name: str, label: str, widget: QWidget, hint: str = "") -> QWidget:
        """``name`` is the field the service names in its errors (``birth_date``, ``c1d1``...)."""
        holder = QWidget()
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(widget)
        if hint:
            hint_label = QLabel(hint)
            hint_label.setWordWrap(True)
            hint_label.setStyleSheet("color: palette(mid);")
            box.addWidget(hint_label)
        error = ErrorLabel()
        box.addWidget(error)
        self.form.addRow(label, holder)
        self._fields[name] = widget
        self._errors[name] = error
        return widget

    def date_field(self, name, label, value=None, optional=False, hint="") -> DateEdit:
        return self.add_field(name, label, DateEdit(value, optional), hint)

    def text_field(self, name, label, value="", hint="", placeholder="") -> QLineEdit:
        edit = QLineEdit(value or "")
        edit.setPlaceholderText(placeholder)
        return self.add_field(name, label, edit, hint)

    def password_field(self, name, label, hint="") -> QLineEdit:
        """Not in ``values()``: read with ``field(name).text()`` (a password is never trimmed)."""
        return self.add_field(name, label, password_edit(), hint)

    def choice_field(self, name, label, choices: list[tuple[object, str]], value=None, hint="") -> QComboBox:
        combo = QComboBox()
        for data, text in choices:
            combo.addItem(text, data)
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))
        return self.add_field(name, label, combo, hint)

    def int_field(self, name, label, value=0, minimum=0, maximum=999, hint="") -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(minimum, maximum)
        spin.setValue(value)
        return self.add_field(name, label, spin, hint)

    def float_field(self, name, label, value=0.0, maximum=1000.0, suffix="", hint="") -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, maximum)
        spin.setDecimals(1)
        spin.setSuffix(suffix)
        spin.setValue(value)
        return self.add_field(name, label, spin, hint)

    def _add_reason_field(self) -> None:
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("why the recorded value is being changed")
        self.add_field("_reason", "Reason for the correction", self.reason_edit)
        self._set_reason_visible(False)

    def _set_reason_visible(self, visible: bool) -> None:
        self.form.setRowVisible(self.form.rowCount() - 1, visible)

    def values(self) -> dict:
        out = {}
        for name, widget in self._fields.items():
            if name.startswith("_") or (isinstance(widget, QLineEdit) and widget.echoMode() != QLineEdit.EchoMode.Normal):
                continue
            if isinstance(widget, DateEdit):
                out[name] = widget.value()
            elif isinstance(widget, QLineEdit):
                out[name] = widget.text().strip()
            elif isinstance(widget, QComboBox):
                out[name] = widget.currentData()
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                out[name] = widget.value()
        return out

    def field(self, name: str) -> QWidget:
        return self._fields[name]

    def error_text(self, name: str | None = None) -> str:
        """What the user sees under a field (or above the buttons when ``name`` is None)."""
        return (self._errors[name] if name else self.general_error).said()

    # -- saving ----------------------------------------------------------------------------
    def accept(self) -> None:
        for label in [*self._errors.values(), self.general_error]:
            label.hide()
        reason = self.reason_edit.text().strip() or None
        try:
            self.change = self.submit(self.values(), reason)
        except CorrectionNeedsReason as exc:
            self._set_reason_visible(True)
            self._show_error("_reason", f"{_field_words(exc.field)} {exc.problem.replace(' (--reason)', '')}.")
            self.reason_edit.setFocus()
            return
        except InputError as exc:
            self._show_error(exc.field if exc.field in self._errors else _base_field(exc.field), exc.problem)
            return
        except CoordinatorError as exc:
            self._show_error(None, str(exc))
            return
        self.session.notify(self.change)
        super().accept()

    def _show_error(self, name: str | None, message: str) -> None:
        label = self._errors.get(name) if name else None
        (label or self.general_error).say(message)
        widget = self._fields.get(name) if name else None
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)


def _base_field(field: str) -> str:
    """``visits.C1D8`` -> ``visits``; ``birth_date`` stays."""
    return field.split(".")[0]


def _field_words(field: str) -> str:
    return field.replace("_", " ").replace(".", " ").capitalize()
