"""The schedule rules, each with dates a person can check on a calendar.

Subject: consent Mon 10-Feb-2025, cycle 1 day 1 Mon 03-Mar-2025 unless said otherwise.
"""

from dataclasses import replace

from helpers import d, make_subject

from coordinator.model import VisitRecord
from coordinator.schedule import build_plan, current_cycle_day, subject_status


def plan_of(protocol, subject):
    return {v.code: v for v in build_plan(protocol, subject)}


def visits(**records):
    """visits(C2D1="2025-04-04", C1D15=None) -> records; None means missed."""
    return {code: VisitRecord(code, d(day)) if day else VisitRecord(code, None, True, "unwell")
            for code, day in records.items()}


def window(v):
    return (v.target.isoformat(), v.window_start.isoformat(), v.window_end.isoformat())


def test_screening_before_c1d1_counts_from_consent(protocol):
    scr = plan_of(protocol, make_subject())["SCR"]
    assert window(scr) == ("2025-02-10", "2025-02-10", "2025-02-24")
    assert scr.status(d("2025-02-24")) == "due"
    assert scr.status(d("2025-02-25")) == "overdue"


def test_screening_once_c1d1_is_set(protocol):
    scr = plan_of(protocol, make_subject(c1d1=d("2025-03-03")))["SCR"]
    assert window(scr) == ("2025-02-17", "2025-02-17", "2025-03-02")


def test_only_screening_is_listed_before_c1d1(protocol):
    assert list(plan_of(protocol, make_subject())) == ["SCR"]


def test_cycle_1_visits(protocol):
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03")))
    assert window(p["C1D1"]) == ("2025-03-03", "2025-03-03", "2025-03-03")
    assert p["C1D1"].date == d("2025-03-03")
    assert window(p["C1D8"]) == ("2025-03-10", "2025-03-09", "2025-03-11")
    assert window(p["C1D15"]) == ("2025-03-17", "2025-03-16", "2025-03-18")
    assert window(p["C1D22"]) == ("2025-03-24", "2025-03-23", "2025-03-25")


def test_later_cycles_plus_minus_three_days(protocol):
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03")))
    assert window(p["C2D1"]) == ("2025-03-31", "2025-03-28", "2025-04-03")
    assert window(p["C2D22"]) == ("2025-04-21", "2025-04-18", "2025-04-24")
    assert window(p["C3D1"]) == ("2025-04-28", "2025-04-25", "2025-05-01")
    assert "C2D8" not in p and "C2D15" not in p


def test_delayed_cycle_moves_later_visits_only(protocol):
    on_time = plan_of(protocol, make_subject(c1d1=d("2025-03-03")))
    delayed = plan_of(protocol, make_subject(c1d1=d("2025-03-03"), visits=visits(C2D1="2025-04-04")))
    # C2D1 keeps its target (actual + 28 of C1D1) but happened 4 days late, out of its window
    assert delayed["C2D1"].target == d("2025-03-31")
    assert delayed["C2D1"].out_of_window and delayed["C2D1"].status(d("2025-04-10")) == "done"
    assert delayed["C2D22"].target == d("2025-04-25")  # actual C2D1 + 21
    assert delayed["C3D1"].target == d("2025-05-02")   # actual C2D1 + 28
    for code in ("SCR", "C1D1", "C1D8", "C1D15", "C1D22"):
        assert window(delayed[code]) == window(on_time[code])


def test_early_cycle_moves_later_visits_earlier(protocol):
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03"), visits=visits(C2D1="2025-03-29")))
    assert not p["C2D1"].out_of_window
    assert p["C3D1"].target == d("2025-04-26")


def test_missed_day_1_anchors_on_its_target(protocol):
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03"), visits=visits(C2D1=None)))
    assert p["C2D1"].status(d("2025-06-01")) == "missed"
    assert p["C2D22"].target == d("2025-04-21")
    assert p["C3D1"].target == d("2025-04-28")


def test_eight_cycles_then_always_the_next_one(protocol):
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03")))
    assert "C8D22" in p and "C9D1" not in p
    starts = {"C2D1": "2025-03-31", "C3D1": "2025-04-28", "C4D1": "2025-05-26", "C5D1": "2025-06-23",
              "C6D1": "2025-07-21", "C7D1": "2025-08-18", "C8D1": "2025-09-15", "C9D1": "2025-10-13"}
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03"), visits=visits(**starts)))
    assert "C10D1" in p and "C10D22" in p and "C11D1" not in p
    assert p["C10D1"].target == d("2025-11-10")


def test_last_dose_cancels_later_treatment_visits_and_opens_eot(protocol):
    s = make_subject(c1d1=d("2025-03-03"), visits=visits(C1D8="2025-03-10", C1D15="2025-03-17"),
                     last_dose=d("2025-03-20"), end_of_treatment_reason="toxicity")
    p = plan_of(protocol, s)
    assert p["C1D22"].status(d("2025-03-24")) == "cancelled"
    assert p["C1D15"].status(d("2025-03-24")) == "done"
    assert p["C2D1"].status(d("2025-03-24")) == "cancelled"
    assert p["C8D22"].status(d("2025-03-24")) == "cancelled"
    assert p["C2D1"].status(d("2025-03-19")) == "planned"  # before the last dose nothing was cancelled
    assert window(p["EOT"]) == ("2025-04-17", "2025-03-20", "2025-04-17")
    assert p["EOT"].status(d("2025-03-24")) == "due"
    assert p["EOT"].status(d("2025-04-18")) == "overdue"


def test_follow_up_counts_calendar_months_from_eot(protocol):
    # EOT done 31-Jan-2025: +3 months clamps to 30-Apr, +6 months is 31-Jul
    s = make_subject(consent="2024-09-01", c1d1=d("2024-09-20"), last_dose=d("2025-01-10"),
                     end_of_treatment_reason="progression", visits=visits(EOT="2025-01-31"))
    p = plan_of(protocol, s)
    assert window(p["PDFU1"]) == ("2025-04-30", "2025-04-16", "2025-05-14")
    assert p["PDFU2"].target == d("2025-07-31")
    assert p["PDFU3"].target == d("2025-10-31")
    assert p["PDFU4"].target == d("2026-01-31")
    assert p["PDFU8"].target == d("2027-01-31") and "PDFU9" not in p  # two years
    assert window(p["SURV1"]) == ("2025-07-31", "2025-07-01", "2025-08-30")
    assert p["SURV4"].target == d("2027-01-31") and "SURV5" not in p


def test_follow_up_anchor_is_eot_target_until_eot_happens(protocol):
    s = make_subject(consent="2024-09-01", c1d1=d("2024-09-20"), last_dose=d("2024-12-03"),
                     end_of_treatment_reason="toxicity")
    p = plan_of(protocol, s)
    assert p["EOT"].target == d("2024-12-31")
    assert p["PDFU1"].target == d("2025-03-31")
    assert p["SURV1"].target == d("2025-06-30")


def test_follow_up_lists_the_visit_after_the_latest_recorded(protocol):
    recs = {f"PDFU{k}": f"{2025 + (3 * k) // 12}-{(3 * k) % 12 + 1:02d}-10" for k in range(1, 9)}
    s = make_subject(consent="2024-10-01", c1d1=d("2024-10-10"), last_dose=d("2024-12-05"),
                     end_of_treatment_reason="toxicity", visits=visits(EOT="2025-01-10", **recs))
    assert "PDFU9" in plan_of(protocol, s)


def test_progression_stops_the_progression_track_not_survival(protocol):
    def with_progression(day):
        s = make_subject(consent="2024-09-01", c1d1=d("2024-09-20"), last_dose=d("2025-01-10"),
                         end_of_treatment_reason="toxicity", visits=visits(EOT="2025-01-31"),
                         events={"progression": d(day)})
        return s, plan_of(protocol, s)

    # progression 20-Jul: PDFU2 (target 31-Jul, window opened 17-Jul) is cancelled from 20-Jul
    s, p = with_progression("2025-07-20")
    assert p["PDFU1"].status(d("2025-04-30")) == "due"
    assert p["PDFU2"].status(d("2025-07-18")) == "due"
    assert p["PDFU2"].status(d("2025-07-20")) == "cancelled"
    assert "PDFU3" not in p  # its window would open after progression: left out
    assert p["SURV1"].status(d("2025-07-31")) == "due"
    assert p["SURV4"].target == d("2027-01-31")
    assert subject_status(protocol, s, d("2025-08-01")) == "follow_up"

    # progression 15-Jun: PDFU2's window (from 17-Jul) would open after it, so it is left out
    _, p = with_progression("2025-06-15")
    assert "PDFU1" in p and "PDFU2" not in p


def test_alternate_therapy_stops_both_tracks(protocol):
    s = make_subject(consent="2024-09-01", c1d1=d("2024-09-20"), last_dose=d("2025-01-10"),
                     end_of_treatment_reason="toxicity", visits=visits(EOT="2025-01-31", PDFU1="2025-04-30"),
                     events={"alternate_therapy": d("2025-07-20")})
    p = plan_of(protocol, s)
    assert p["PDFU2"].status(d("2025-07-20")) == "cancelled"
    assert p["SURV1"].status(d("2025-07-20")) == "cancelled"
    assert "PDFU3" not in p and "SURV2" not in p
    assert subject_status(protocol, s, d("2025-07-20")) == "off_study"


def test_death_cancels_everything_not_done(protocol):
    s = make_subject(c1d1=d("2025-03-03"), visits=visits(C1D8="2025-03-10"), events={"death": d("2025-03-20")})
    plan = build_plan(protocol, s)
    statuses = {v.code: v.status(d("2025-03-20")) for v in plan}
    assert statuses["C1D8"] == "done"
    assert statuses["C1D15"] == "cancelled"  # it was overdue, and is now cancelled
    assert all(v.window_start <= d("2025-03-20") for v in plan)  # later visits are left out
    for day in ("2025-03-20", "2025-04-01", "2030-01-01"):
        assert not [v for v in plan if v.status(d(day)) in ("due", "overdue", "planned")]
    # looked at before the death, the plan still shows what was due then
    assert {v.code: v.status(d("2025-03-17")) for v in plan}["C1D15"] == "due"
    assert subject_status(protocol, s, d("2025-03-20")) == "off_study"


def test_screen_failure_cancels_screening(protocol):
    s = make_subject(screen_failure_date=d("2025-02-20"), screen_failure_reason="ineligible")
    plan = build_plan(protocol, s)
    assert [v.status(d("2025-02-20")) for v in plan] == ["cancelled"]
    assert subject_status(protocol, s, d("2025-02-19")) == "screening"
    assert subject_status(protocol, s, d("2025-02-20")) == "screen_failed"


def test_unscheduled_visits_never_move_the_plan(protocol):
    base = make_subject(c1d1=d("2025-03-03"))
    with_uns = replace(base, visits=visits(UNS1="2025-03-12", UNS2="2025-03-13"))
    before = [(v.code, window(v)) for v in build_plan(protocol, base)]
    after = build_plan(protocol, with_uns)
    assert [(v.code, window(v)) for v in after if v.kind != "unscheduled"] == before
    uns = {v.code: v for v in after}["UNS1"]
    assert uns.status(d("2025-03-12")) == "done" and not uns.out_of_window


def test_statuses_on_a_date(protocol):
    p = plan_of(protocol, make_subject(c1d1=d("2025-03-03"), visits=visits(C1D8="2025-03-12", C1D15=None)))
    c1d8 = p["C1D8"]
    assert c1d8.status(d("2025-03-08")) == "planned"
    assert c1d8.status(d("2025-03-09")) == "due"
    assert c1d8.status(d("2025-03-11")) == "due"
    assert c1d8.status(d("2025-03-12")) == "done" and c1d8.out_of_window
    assert p["C1D15"].status(d("2025-03-01")) == "missed"
    assert p["C1D22"].status(d("2025-03-26")) == "overdue"


def test_on_changes_statuses_never_dates(protocol):
    s = make_subject(c1d1=d("2025-03-03"), visits=visits(C2D1="2025-04-04"))
    plan = build_plan(protocol, s)
    c2 = {v.code: v for v in plan}
    # looking at 20-Mar: C2D1 has not happened yet, but C2D22 is already placed after its actual date
    assert c2["C2D1"].status(d("2025-03-20")) == "planned"
    assert c2["C2D22"].target == d("2025-04-25")


def test_subject_status_and_current_cycle_day(protocol):
    s = make_subject(c1d1=d("2025-03-03"), visits=visits(C2D1="2025-04-04"))
    plan = build_plan(protocol, s)
    assert subject_status(protocol, s, d("2025-03-02")) == "screening"
    assert subject_status(protocol, s, d("2025-03-03")) == "on_treatment"
    assert current_cycle_day(plan, d("2025-03-10")) == (1, 8)
    assert current_cycle_day(plan, d("2025-04-05")) == (2, 2)
    ended = replace(s, last_dose=d("2025-04-20"), end_of_treatment_reason="progression")
    assert subject_status(protocol, ended, d("2025-04-21")) == "follow_up"


def test_the_first_dose_stands_in_on_its_planned_day(protocol):
    from coordinator.schedule import first_dose_visit
    v = first_dose_visit(protocol, d("2025-03-03"))
    assert (v.code, v.label, v.target, v.window_start, v.window_end, v.cycle, v.day, v.date) == \
        ("C1D1", "Cycle 1 Day 1 (baseline, first dose)", d("2025-03-03"), d("2025-03-03"), d("2025-03-03"), 1, 1, None)
