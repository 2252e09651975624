"""The study protocol as data: loading, validation and look-ups.

A protocol is a TOML file (see ``resources/protocols/sel-len-mm.toml`` for the
documented format). Loading checks every field; a problem raises
``ProtocolError`` naming the file, the field and what is wrong, so a site
editing the file can fix it without reading code.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coordinator.errors import ProtocolError

FORMAT = "coordinator-protocol/1"

def _bundled_path() -> Path:
    """The shipped study: ``resources/`` beside the package in a checkout or bundle, else installed data."""
    beside = Path(__file__).resolve().parent.parent / "resources" / "protocols" / "sel-len-mm.toml"
    if beside.exists():
        return beside
    import importlib.resources  # only for an installed wheel: a checkout and the bundle have the file beside
    try:
        return Path(importlib.resources.files("coordinator.resources").joinpath("protocols/sel-len-mm.toml"))
    except ModuleNotFoundError:  # a broken install or bundle: load() then says "no such file"
        return beside


BUNDLED = _bundled_path()
DESTINATIONS = ("local_lab", "research", "none")
SUBJECT_FIELDS = ("childbearing_potential", "sex")


@dataclass(frozen=True)
class Screening:
    code: str
    label: str
    days_after_consent: int
    days_before_c1d1: int
    lookback_days: int


@dataclass(frozen=True)
class CycleVisit:
    """A visit on a given day of the cycles ``first_cycle`` .. ``last_cycle`` (None: every later one)."""

    day: int
    first_cycle: int
    last_cycle: int | None
    label: str
    window_before: int
    window_after: int

    def applies_to(self, cycle: int) -> bool:
        return cycle >= self.first_cycle and (self.last_cycle is None or cycle <= self.last_cycle)


@dataclass(frozen=True)
class EndOfTreatment:
    code: str
    label: str
    window_days: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class FollowUpTrack:
    code: str
    label: str
    every_months: int
    window_days: int
    horizon_months: int
    stops_on: tuple[str, ...]


@dataclass(frozen=True)
class EventType:
    id: str
    label: str
    ends_study: bool


@dataclass(frozen=True)
class Condition:
    id: str
    label: str
    subject_field: str | None = None
    equals: Any = None
    on_request: bool = False


@dataclass(frozen=True)
class Specimen:
    id: str
    label: str
    container: str = ""
    handling: str = ""
    timed: bool = False  # a timed collection (24-hour urine): the requisition asks for start, end and volume


@dataclass(frozen=True)
class Procedure:
    id: str
    label: str
    category: str
    specimen: str = "none"
    panel: str = "none"
    destination: str = "none"
    condition: str | None = None
    tests: tuple[str, ...] = ()
    lookback_days: int | None = None
    min_days_before: int = 1
    note: str = ""


@dataclass(frozen=True)
class VisitPattern:
    """One entry of a schedule row: ``SCR``, ``EOT``, ``PDFU``, ``C1D8``, ``C2+D1``, ``C*D22``."""

    text: str
    kind: str  # "cycle" or a fixed/track visit code
    first_cycle: int = 1
    last_cycle: int | None = None
    day: int = 0

    def matches(self, ref: VisitRef) -> bool:
        if self.kind == "cycle":
            return (
                ref.kind == "cycle"
                and ref.day == self.day
                and ref.cycle >= self.first_cycle
                and (self.last_cycle is None or ref.cycle <= self.last_cycle)
            )
        return ref.group == self.kind


@dataclass(frozen=True)
class VisitRef:
    """A parsed visit code. ``group`` is the code without its number (``PDFU`` for ``PDFU3``)."""

    code: str
    kind: str  # screening, cycle, eot, follow_up, unscheduled
    group: str
    cycle: int = 0
    day: int = 0
    number: int = 0


@dataclass(frozen=True)
class DoseLevel:
    level: int
    dose_mg: float


@dataclass(frozen=True)
class Drug:
    id: str
    name: str
    route: str
    form: str
    strengths_mg: tuple[float, ...]
    days: tuple[int, ...]
    levels: tuple[DoseLevel, ...]
    notes: tuple[str, ...] = ()

    def dose_mg(self, level: int) -> float:
        for dose in self.levels:
            if dose.level == level:
                return dose.dose_mg
        raise KeyError(level)


@dataclass(frozen=True)
class Steroid:
    id: str
    name: str
    form: str
    strengths_mg: tuple[float, ...]


@dataclass(frozen=True)
class Assumption:
    id: str
    text: str


@dataclass(frozen=True)
class Protocol:
    code: str
    title: str
    short_title: str
    enrollment_cap: int
    cycle_length_days: int
    evaluation_cycles: int
    screening: Screening
    cycle_visits: tuple[CycleVisit, ...]
    end_of_treatment: EndOfTreatment
    follow_up: tuple[FollowUpTrack, ...]
    unscheduled_code: str
    unscheduled_label: str
    events: dict[str, EventType]
    categories: dict[str, str]
    specimens: dict[str, Specimen]
    conditions: dict[str, Condition]
    procedures: dict[str, Procedure]
    schedule: dict[str, tuple[VisitPattern, ...]]
    drugs: tuple[Drug, ...]
    steroids: dict[str, Steroid]
    assumptions: tuple[Assumption, ...]
    source: str = ""
    text: str = field(default="", repr=False)
    # procedures by visit code: the schedule is fixed once loaded (see procedures_at)
    _at: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _ids_at: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _refs: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def drug(self, drug_id: str) -> Drug:
        for drug in self.drugs:
            if drug.id == drug_id:
                return drug
        raise KeyError(drug_id)

    def parse_visit(self, code: str) -> VisitRef | None:
        """The visit a code names, or None when this protocol has no such visit."""
        if not isinstance(code, str):
            return None
        if code not in self._refs:
            self._refs[code] = self._parse_visit(code)
        return self._refs[code]

    def _parse_visit(self, code: str) -> VisitRef | None:
        if code == self.screening.code:
            return VisitRef(code, "screening", code)
        if code == self.end_of_treatment.code:
            return VisitRef(code, "eot", code)
        match = _CYCLE_CODE.fullmatch(code)
        if match:
            cycle, day = int(match[1]), int(match[2])
            if cycle >= 1 and any(t.day == day and t.applies_to(cycle) for t in self.cycle_visits):
                return VisitRef(code, "cycle", "cycle", cycle=cycle, day=day)
            return None
        match = _NUMBERED_CODE.fullmatch(code)
        if match and int(match[2]) >= 1 and str(int(match[2])) == match[2]:
            prefix, number = match[1], int(match[2])
            if prefix == self.unscheduled_code:
                return VisitRef(code, "unscheduled", prefix, number=number)
            if any(track.code == prefix for track in self.follow_up):
                return VisitRef(code, "follow_up", prefix, number=number)
        return None

    def procedures_at(self, ref: VisitRef) -> list[Procedure]:
        """The procedures the Schedule of Assessments asks for at a visit, in file order."""
        cached = self._at.get(ref.code)
        if cached is None:
            cached = self._at[ref.code] = tuple(
                procedure
                for procedure in self.procedures.values()
                if any(pattern.matches(ref) for pattern in self.schedule.get(procedure.id, ()))
            )
        return list(cached)

    def lookback_days(self, procedure: Procedure) -> int:
        """How many days before cycle 1 day 1 a screening result of this procedure stays valid."""
        return procedure.lookback_days or self.screening.lookback_days

    def scheduled_at(self, ref: VisitRef, procedure_id: str) -> bool:
        ids = self._ids_at.get(ref.code)
        if ids is None:
            ids = self._ids_at[ref.code] = frozenset(p.id for p in self.procedures_at(ref))
        return procedure_id in ids


_CYCLE_CODE = re.compile(r"C([1-9][0-9]{0,2})D([1-9][0-9]?)")  # cycles 1-999, days 1-99
_NUMBERED_CODE = re.compile(r"([A-Z]+)([0-9]{1,3})")  # PDFU1 .. PDFU999
_CYCLE_PATTERN = re.compile(r"C(\*|[1-9][0-9]*\+?)D([1-9][0-9]*)")
_ID = re.compile(r"[a-z][a-z0-9_]*")
_CODE = re.compile(r"[A-Z][A-Z0-9]*")


def load(path: str | Path | None = None) -> Protocol:
    """Read and validate a protocol file (the bundled study when no path is given)."""
    path = Path(path) if path is not None else BUNDLED
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(str(path), "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(path), "", f"cannot be read ({exc})") from None
    return loads(text, source=str(path))


def code_of(text: str) -> str:
    """The study code a protocol text gives, without checking the rest ('' when it gives none):
    what a backup is of, even one made by another version of the app."""
    try:
        code = tomllib.loads(text).get("code")
    except tomllib.TOMLDecodeError:
        return ""
    return code if isinstance(code, str) else ""


def loads(text: str, source: str = "<protocol>") -> Protocol:
    """Parse and validate protocol text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, "", f"is not valid TOML ({exc})") from None
    return _Builder(source, data, text).build()


class _Builder:
    """Turns the parsed TOML into a ``Protocol``, raising on the first problem."""

    def __init__(self, source: str, data: dict, text: str):
        self.source = source
        self.data = data
        self.text = text

    def fail(self, where: str, problem: str) -> ProtocolError:
        return ProtocolError(self.source, where, problem)

    # -- typed field readers -------------------------------------------------
    def table(self, parent: dict, key: str, where: str, required: bool = True) -> dict:
        value = parent.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(_join(where, key), "missing" if value is None else "must be a table")
        return value

    def string(self, parent: dict, key: str, where: str, default: str | None = None) -> str:
        value = parent.get(key, default)
        if value is None:
            raise self.fail(_join(where, key), "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(where, key), "must be a non-empty text")
        return value

    def integer(self, parent: dict, key: str, where: str, minimum: int = 0, default: int | None = None) -> int:
        value = parent.get(key, default)
        if value is None:
            raise self.fail(_join(where, key), "missing")
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(_join(where, key), f"must be a whole number, not {value!r}")
        if value < minimum:
            raise self.fail(_join(where, key), f"must be at least {minimum}, not {value}")
        return value

    def boolean(self, parent: dict, key: str, where: str, default: bool) -> bool:
        value = parent.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(_join(where, key), "must be true or false")
        return value

    def strings(self, parent: dict, key: str, where: str, default: list | None = None) -> tuple[str, ...]:
        value = parent.get(key, default)
        if value is None:
            raise self.fail(_join(where, key), "missing")
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(_join(where, key), "must be a list of texts")
        return tuple(value)

    def numbers(self, parent: dict, key: str, where: str) -> tuple[float, ...]:
        value = parent.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise self.fail(_join(where, key), "must be a non-empty list of positive numbers")
        return tuple(value)

    def label(self, parent: dict, key: str, where: str, **placeholders) -> str:
        """A label that may use only the given ``{placeholders}``, e.g. ``Cycle {cycle} Day {day}``."""
        text = self.string(parent, key, where)
        try:
            text.format(**placeholders)
        except (KeyError, IndexError, ValueError) as exc:
            allowed = ", ".join("{" + p + "}" for p in placeholders) or "none"
            raise self.fail(_join(where, key), f"{text!r} has a bad placeholder ({exc}); allowed: {allowed}") from None
        return text

    def only(self, parent: dict, where: str, allowed: set[str]) -> None:
        for key in parent:
            if key not in allowed:
                raise self.fail(_join(where, key), f"unknown field (expected one of: {', '.join(sorted(allowed))})")

    def array_of_tables(self, parent: dict, key: str, where: str) -> list[dict]:
        value = parent.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.fail(_join(where, key), "must be one or more [[" + key + "]] tables")
        return value

    # -- sections --------------------------------------------------------------
    def build(self) -> Protocol:
        d = self.data
        self.only(d, "", {
            "format", "code", "title", "short_title", "enrollment_cap", "cycle_length_days",
            "evaluation_cycles", "screening", "cycle_visits", "end_of_treatment", "follow_up",
            "unscheduled", "events", "categories", "specimens", "conditions", "procedures",
            "schedule", "drugs", "steroids", "assumptions",
        })
        if d.get("format") != FORMAT:
            raise self.fail("format", f'must be "{FORMAT}", not {d.get("format")!r}')
        code = self.string(d, "code", "")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", code):
            raise self.fail("code", "may hold only letters, digits, '-', '_' and '.'")
        events = self._events()
        categories = self._categories()
        specimens = self._specimens()
        conditions = self._conditions()
        screening = self._screening()
        cycle_visits = self._cycle_visits()
        eot = self._end_of_treatment()
        follow_up = self._follow_up(events)
        unscheduled = self.table(d, "unscheduled", "")
        self.only(unscheduled, "unscheduled", {"code", "label"})
        unscheduled_code = self._code(unscheduled, "code", "unscheduled")
        codes = [screening.code, eot.code, unscheduled_code] + [t.code for t in follow_up]
        duplicates = {c for c in codes if codes.count(c) > 1}
        if duplicates:
            raise self.fail("", f"visit code {sorted(duplicates)[0]!r} is used twice")
        procedures = self._procedures(categories, specimens, conditions)
        protocol = Protocol(
            code=code,
            title=self.string(d, "title", ""),
            short_title=self.string(d, "short_title", "", default=d.get("title")),
            enrollment_cap=self.integer(d, "enrollment_cap", "", minimum=1),
            cycle_length_days=self.integer(d, "cycle_length_days", "", minimum=1),
            evaluation_cycles=self.integer(d, "evaluation_cycles", "", minimum=1),
            screening=screening,
            cycle_visits=cycle_visits,
            end_of_treatment=eot,
            follow_up=follow_up,
            unscheduled_code=unscheduled_code,
            unscheduled_label=self.label(unscheduled, "label", "unscheduled", n=1),
            events=events,
            categories=categories,
            specimens=specimens,
            conditions=conditions,
            procedures=procedures,
            schedule={},
            drugs=self._drugs(),
            steroids=self._steroids(),
            assumptions=self._assumptions(),
            source=self.source,
            text=self.text,
        )
        for template in cycle_visits:
            if template.day > protocol.cycle_length_days:
                raise self.fail("cycle_visits.day", f"day {template.day} is past the cycle length")
        object.__setattr__(protocol, "schedule", self._schedule(protocol))
        return protocol

    def _code(self, parent: dict, key: str, where: str) -> str:
        value = self.string(parent, key, where)
        if not _CODE.fullmatch(value) or value.startswith("C") and _CYCLE_CODE.fullmatch(value + "D1"):
            raise self.fail(_join(where, key), f"{value!r} must be capital letters (and digits), not like a cycle code")
        return value

    def _events(self) -> dict[str, EventType]:
        events = {}
        for event_id, spec in self.table(self.data, "events", "").items():
            where = f"events.{event_id}"
            if not isinstance(spec, dict):
                raise self.fail(where, "must be a table")
            self.only(spec, where, {"label", "ends_study"})
            events[event_id] = EventType(event_id, self.string(spec, "label", where), self.boolean(spec, "ends_study", where, False))
        for needed in ("progression", "alternate_therapy", "death", "withdrawal"):
            if needed not in events:
                raise self.fail(f"events.{needed}", "missing (the schedule needs this event)")
        return events

    def _categories(self) -> dict[str, str]:
        categories = self.table(self.data, "categories", "")
        for key, label in categories.items():
            if not _ID.fullmatch(key) or not isinstance(label, str) or not label:
                raise self.fail(f"categories.{key}", "must be an id = \"label\" pair")
        return dict(categories)

    def _specimens(self) -> dict[str, Specimen]:
        specimens = {}
        for key, spec in self.table(self.data, "specimens", "").items():
            where = f"specimens.{key}"
            if not isinstance(spec, dict):
                raise self.fail(where, "must be a table")
            self.only(spec, where, {"label", "container", "handling", "timed"})
            timed = self.boolean(spec, "timed", where, False)
            specimens[key] = Specimen(key, self.string(spec, "label", where), spec.get("container", ""), spec.get("handling", ""),
                                      timed)
        specimens.setdefault("none", Specimen("none", "No specimen"))
        return specimens

    def _conditions(self) -> dict[str, Condition]:
        conditions = {}
        for key, spec in self.table(self.data, "conditions", "", required=False).items():
            where = f"conditions.{key}"
            if not isinstance(spec, dict):
                raise self.fail(where, "must be a table")
            self.only(spec, where, {"label", "subject_field", "equals", "on_request"})
            on_request = self.boolean(spec, "on_request", where, False)
            subject_field = spec.get("subject_field")
            if on_request == (subject_field is not None):
                raise self.fail(where, "needs either subject_field (with equals) or on_request = true")
            if subject_field is not None and subject_field not in SUBJECT_FIELDS:
                raise self.fail(f"{where}.subject_field", f"must be one of {', '.join(SUBJECT_FIELDS)}")
            if subject_field is not None and "equals" not in spec:
                raise self.fail(f"{where}.equals", "missing")
            if subject_field == "childbearing_potential" and not isinstance(spec["equals"], bool):
                raise self.fail(f"{where}.equals", "must be true or false for childbearing_potential")
            if subject_field == "sex" and spec["equals"] not in ("F", "M"):
                raise self.fail(f"{where}.equals", 'must be "F" or "M" for sex')
            conditions[key] = Condition(key, self.string(spec, "label", where), subject_field, spec.get("equals"), on_request)
        return conditions

    def _screening(self) -> Screening:
        s = self.table(self.data, "screening", "")
        w = "screening"
        self.only(s, w, {"code", "label", "days_after_consent", "days_before_c1d1", "lookback_days"})
        return Screening(
            code=self._code(s, "code", w),
            label=self.string(s, "label", w),
            days_after_consent=self.integer(s, "days_after_consent", w, minimum=0),
            days_before_c1d1=self.integer(s, "days_before_c1d1", w, minimum=1),
            lookback_days=self.integer(s, "lookback_days", w, minimum=1),
        )

    def _cycle_visits(self) -> tuple[CycleVisit, ...]:
        visits = []
        for i, spec in enumerate(self.array_of_tables(self.data, "cycle_visits", "")):
            w = f"cycle_visits[{i + 1}]"
            self.only(spec, w, {"day", "cycles", "label", "window_before", "window_after"})
            cycles = self.string(spec, "cycles", w)
            match = re.fullmatch(r"([1-9][0-9]*)(?:(\+)|-([1-9][0-9]*))?", cycles)
            if not match:
                raise self.fail(f"{w}.cycles", f'{cycles!r} must be a cycle number ("1"), "2+" or a range "2-8"')
            first = int(match[1])
            last = None if match[2] else int(match[3]) if match[3] else first
            if last is not None and last < first:
                raise self.fail(f"{w}.cycles", f"range {cycles!r} ends before it starts")
            visits.append(CycleVisit(
                day=self.integer(spec, "day", w, minimum=1),
                first_cycle=first,
                last_cycle=last,
                label=self.label(spec, "label", w, cycle=1, day=1),
                window_before=self.integer(spec, "window_before", w, minimum=0),
                window_after=self.integer(spec, "window_after", w, minimum=0),
            ))
        for a in visits:
            for b in visits:
                if a is not b and a.day == b.day and _overlap(a, b):
                    raise self.fail("cycle_visits", f"two templates give day {a.day} of the same cycle")
        day1 = [t for t in visits if t.day == 1]
        if not any(t.applies_to(1) for t in day1) or not all(any(t.applies_to(c) for t in day1) for c in range(1, 50)):
            raise self.fail("cycle_visits", "every cycle needs a day-1 visit (it anchors the cycle)")
        if any(t.window_before or t.window_after for t in day1 if t.applies_to(1)):
            raise self.fail("cycle_visits", "cycle 1 day 1 is the first dose itself: its window must be 0 days")
        return tuple(visits)

    def _end_of_treatment(self) -> EndOfTreatment:
        e = self.table(self.data, "end_of_treatment", "")
        w = "end_of_treatment"
        self.only(e, w, {"code", "label", "window_days_after_last_dose", "reasons"})
        reasons = self.strings(e, "reasons", w)
        for reason in reasons:
            if not _ID.fullmatch(reason):
                raise self.fail(f"{w}.reasons", f"{reason!r} must be a lower-case id")
        return EndOfTreatment(self._code(e, "code", w), self.string(e, "label", w),
                              self.integer(e, "window_days_after_last_dose", w, minimum=0), reasons)

    def _follow_up(self, events: dict[str, EventType]) -> tuple[FollowUpTrack, ...]:
        tracks = []
        for i, spec in enumerate(self.array_of_tables(self.data, "follow_up", "")):
            w = f"follow_up[{i + 1}]"
            self.only(spec, w, {"code", "label", "every_months", "window_days", "horizon_months", "stops_on"})
            stops_on = self.strings(spec, "stops_on", w)
            for event in stops_on:
                if event not in events:
                    raise self.fail(f"{w}.stops_on", f"{event!r} is not an event of [events]")
            tracks.append(FollowUpTrack(
                code=self._code(spec, "code", w),
                label=self.label(spec, "label", w, n=1),
                every_months=self.integer(spec, "every_months", w, minimum=1),
                window_days=self.integer(spec, "window_days", w, minimum=0),
                horizon_months=self.integer(spec, "horizon_months", w, minimum=1),
                stops_on=stops_on,
            ))
        return tuple(tracks)

    def _procedures(self, categories, specimens, conditions) -> dict[str, Procedure]:
        procedures = {}
        allowed = {"label", "category", "specimen", "panel", "destination", "condition", "tests",
                   "screening_lookback_days", "screening_min_days_before", "note"}
        for key, spec in self.table(self.data, "procedures", "").items():
            w = f"procedures.{key}"
            if not _ID.fullmatch(key):
                raise self.fail(w, "a procedure id must be lower case letters, digits and '_'")
            if not isinstance(spec, dict):
                raise self.fail(w, "must be a table")
            self.only(spec, w, allowed)
            category = self.string(spec, "category", w)
            if category not in categories:
                raise self.fail(f"{w}.category", f"{category!r} is not one of [categories]")
            specimen = self.string(spec, "specimen", w, default="none")
            if specimen not in specimens:
                raise self.fail(f"{w}.specimen", f"{specimen!r} is not one of [specimens]")
            destination = self.string(spec, "destination", w, default="none" if specimen == "none" else None)
            if destination not in DESTINATIONS:
                raise self.fail(f"{w}.destination", f"must be one of {', '.join(DESTINATIONS)}")
            if (specimen == "none") != (destination == "none"):
                raise self.fail(f"{w}.destination", "a procedure with a specimen needs a destination, and only then")
            condition = spec.get("condition")
            if condition is not None and condition not in conditions:
                raise self.fail(f"{w}.condition", f"{condition!r} is not one of [conditions]")
            lookback = spec.get("screening_lookback_days")
            if lookback is not None:
                lookback = self.integer(spec, "screening_lookback_days", w, minimum=1)
            min_before = self.integer(spec, "screening_min_days_before", w, minimum=0, default=1)
            if lookback is not None and min_before > lookback:
                raise self.fail(f"{w}.screening_min_days_before", "is more than screening_lookback_days")
            procedures[key] = Procedure(
                id=key,
                label=self.string(spec, "label", w),
                category=category,
                specimen=specimen,
                panel=self.string(spec, "panel", w, default="none" if specimen == "none" else None),
                destination=destination,
                condition=condition,
                tests=self.strings(spec, "tests", w, default=[]),
                lookback_days=lookback,
                min_days_before=min_before,
                note=spec.get("note", ""),
            )
        if not procedures:
            raise self.fail("procedures", "the protocol names no procedure")
        return procedures

    def _schedule(self, protocol: Protocol) -> dict[str, tuple[VisitPattern, ...]]:
        rows = self.table(self.data, "schedule", "")
        track_codes = {t.code for t in protocol.follow_up}
        fixed = {protocol.screening.code, protocol.end_of_treatment.code, protocol.unscheduled_code} | track_codes
        schedule = {}
        for proc_id, patterns in rows.items():
            w = f"schedule.{proc_id}"
            if proc_id not in protocol.procedures:
                raise self.fail(w, f"{proc_id!r} is not one of [procedures]")
            if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
                raise self.fail(w, "must be a list of visit patterns such as \"SCR\", \"C1D8\", \"C2+D1\", \"C*D22\"")
            parsed = []
            for text in patterns:
                if text in fixed:
                    parsed.append(VisitPattern(text, text))
                    continue
                match = _CYCLE_PATTERN.fullmatch(text)
                if not match:
                    raise self.fail(w, f"{text!r} is not a visit pattern (SCR, EOT, UNS, a follow-up code, C1D8, C2+D1, C*D22)")
                sel, day = match[1], int(match[2])
                first = 1 if sel == "*" else int(sel.rstrip("+"))
                last = None if sel == "*" or sel.endswith("+") else first
                pattern = VisitPattern(text, "cycle", first, last, day)
                reachable = any(t.day == day and (t.applies_to(first) or (last is None and (t.last_cycle is None or t.last_cycle >= first)))
                                for t in protocol.cycle_visits)
                if not reachable:
                    raise self.fail(w, f"{text!r} matches no visit of [[cycle_visits]]")
                parsed.append(pattern)
            schedule[proc_id] = tuple(parsed)
        return schedule

    def _drugs(self) -> tuple[Drug, ...]:
        drugs = []
        for i, spec in enumerate(self.array_of_tables(self.data, "drugs", "")):
            w = f"drugs[{i + 1}]"
            self.only(spec, w, {"id", "name", "route", "form", "strengths_mg", "days", "levels", "notes"})
            drug_id = self.string(spec, "id", w)
            w = f"drugs.{drug_id}"
            days = spec.get("days")
            if not isinstance(days, list) or not days or not all(isinstance(x, int) and x >= 1 for x in days):
                raise self.fail(f"{w}.days", "must be a list of cycle days (1, 2, ...)")
            levels = []
            raw_levels = spec.get("levels")
            if not isinstance(raw_levels, list) or not raw_levels:
                raise self.fail(f"{w}.levels", "must list the dose levels")
            for lv in raw_levels:
                if not isinstance(lv, dict) or not isinstance(lv.get("level"), int) or not isinstance(lv.get("dose_mg"), (int, float)) or lv["dose_mg"] <= 0:
                    raise self.fail(f"{w}.levels", "each must be { level = <whole number>, dose_mg = <positive number> }")
                levels.append(DoseLevel(lv["level"], lv["dose_mg"]))
            if 0 not in [lv.level for lv in levels]:
                raise self.fail(f"{w}.levels", "must include dose level 0 (the starting dose)")
            drugs.append(Drug(
                id=drug_id, name=self.string(spec, "name", w), route=self.string(spec, "route", w),
                form=self.string(spec, "form", w), strengths_mg=self.numbers(spec, "strengths_mg", w),
                days=tuple(days), levels=tuple(levels), notes=self.strings(spec, "notes", w, default=[]),
            ))
        return tuple(drugs)

    def _steroids(self) -> dict[str, Steroid]:
        steroids = {}
        for key, spec in self.table(self.data, "steroids", "", required=False).items():
            w = f"steroids.{key}"
            if not isinstance(spec, dict):
                raise self.fail(w, "must be a table")
            self.only(spec, w, {"name", "form", "strengths_mg"})
            steroids[key] = Steroid(key, self.string(spec, "name", w), self.string(spec, "form", w), self.numbers(spec, "strengths_mg", w))
        return steroids

    def _assumptions(self) -> tuple[Assumption, ...]:
        items = self.data.get("assumptions", [])
        if not isinstance(items, list):
            raise self.fail("assumptions", "must be [[assumptions]] tables")
        result = []
        for i, spec in enumerate(items):
            w = f"assumptions[{i + 1}]"
            if not isinstance(spec, dict):
                raise self.fail(w, "must be a table")
            self.only(spec, w, {"id", "text"})
            result.append(Assumption(self.string(spec, "id", w), self.string(spec, "text", w)))
        return tuple(result)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _overlap(a: CycleVisit, b: CycleVisit) -> bool:
    a_last = a.last_cycle if a.last_cycle is not None else 10**9
    b_last = b.last_cycle if b.last_cycle is not None else 10**9
    return a.first_cycle <= b_last and b.first_cycle <= a_last
