"""The steroid's three fields, as the new-subject form and the steroid form both ask them, and what
was typed as a ``Steroid``. The field names are those the service names in its errors."""

from __future__ import annotations

from coordinator.errors import InputError
from coordinator.model import NO_STEROID, Steroid
from coordinator.ui.form import FormDialog

DEFAULT_DOSE_MG = 40.0
DEFAULT_DAYS = (1, 8, 15, 22)


def add_steroid_fields(dialog: FormDialog, current: Steroid | None, not_chosen: bool = False) -> None:
    """The steroid (``not_chosen``: 'not chosen yet' is offered first), its dose and its cycle days."""
    steroids = dialog.service.protocol.steroids
    choices = ([(None, "not chosen yet")] if not_chosen else []) + [(k, v.name) for k, v in steroids.items()] \
        + [(NO_STEROID, "none: the prior regimen had no steroid")]
    dialog.choice_field("steroid.drug", "Steroid", choices, current.drug if current else None)
    dialog.float_field("steroid.dose_mg", "Steroid dose", current.dose_mg if current else DEFAULT_DOSE_MG, suffix=" mg")
    dialog.text_field("steroid.days", "Steroid days", ",".join(map(str, current.days if current else DEFAULT_DAYS)),
                      hint="cycle days, separated by commas")


def typed_steroid(values: dict, subject_id: str | None) -> Steroid | None:
    """The steroid as typed (``FormDialog.values()``); None while not chosen yet."""
    if not values["steroid.drug"]:
        return None
    try:
        days = tuple(int(x) for x in values["steroid.days"].split(",") if x.strip())
    except ValueError:
        raise InputError(subject_id, "steroid.days", "must be cycle days separated by commas, such as 1,8,15,22") from None
    if values["steroid.drug"] == NO_STEROID:
        return Steroid(NO_STEROID, 0, ())
    return Steroid(values["steroid.drug"], values["steroid.dose_mg"], days)
