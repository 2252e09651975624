"""The day's packet: every due visit's requisition and each day 1's dosing form, in dashboard order."""

from helpers import d, make_subject
from pdfs import page_texts, placed

from coordinator.forms.stamps import Stamps


def unfooted(pdf: bytes) -> list[list[tuple]]:
    """Each page's words with where they start, the footer (printed date, page number) left out."""
    return placed(pdf, footer=False)


def test_packet_pages_in_dashboard_order(service):
    service.add_subject(make_subject("101-001", c1d1=d("2025-03-03"), visits={}))
    service.add_subject(make_subject("101-002", sex="M", c1d1=d("2025-03-24")))
    service.record_visit("101-001", "SCR", d("2025-02-20"))
    service.record_visit("101-002", "SCR", d("2025-03-12"))
    service.record_visit("101-001", "C1D8", d("2025-03-10"))
    service.record_visit("101-001", "C1D15", d("2025-03-17"))
    service.record_visit("101-001", "C1D22", d("2025-03-24"))
    on = d("2025-03-31")
    # dashboard order: the window that closes first comes first (C1D8 +-1 day, C2D1 +-3 days)
    assert service.day_packet(on) == [("101-002", "C1D8"), ("101-001", "C2D1")]
    seen = []
    packet = page_texts(service.day_packet_pdf(on, progress=lambda done, total: seen.append((done, total))))
    assert seen == [(1, 3), (2, 3), (3, 3)]  # a step per visit, and the last for laying the pages out
    kinds = [("DOSING CALENDAR" if "DOSING CALENDAR" in p else "REQUISITION", next(s for s in ("101-001", "101-002") if s in p))
             for p in packet]
    # 101-002 C1D8: its requisition only (not a day 1); then 101-001 C2D1: its requisition
    # (local laboratory; no research sample at C2D1) and its cycle 2 dosing form
    assert kinds == [("REQUISITION", "101-002"), ("REQUISITION", "101-001"), ("DOSING CALENDAR", "101-001")]
    assert "C1D8" in packet[0] and "C2D1" in packet[1] and "Cycle 2" in packet[2]


def test_an_empty_day_says_so(service):
    assert service.day_packet(d("2025-03-31")) == []
    assert "Nothing is due" in page_texts(service.day_packet_pdf(d("2025-03-31")))[0]


def test_which_visits_the_packet_holds(service):
    service.add_subject(make_subject("101-001", c1d1=d("2025-03-03")))
    service.record_visit("101-001", "SCR", d("2025-02-20"))
    service.add_subject(make_subject("101-002", consent="2025-03-20", planned_c1d1=d("2025-04-02")))
    service.record_visit("101-002", "SCR", d("2025-03-21"))
    # 02-Apr: C2D1 (target 31-Mar, window to 03-Apr) is due but not targeted that day: left out;
    # C1D22 (window closed 25-Mar) is overdue by 8 days: left out; 101-002's first dose is planned that day
    assert service.day_packet(d("2025-04-02")) == [("101-002", "C1D1")]
    # 03-Apr: C2D1's window closes that day: in
    assert ("101-001", "C2D1") in service.day_packet(d("2025-04-03"))
    # 26-Mar: C1D22 overdue by one day, in
    assert ("101-001", "C1D22") in service.day_packet(d("2025-03-26"))


def test_the_first_doses_calendar_counts_from_the_packets_day(service):
    service.add_subject(make_subject("101-002", consent="2025-03-20", planned_c1d1=d("2025-04-02")))
    text = "\f".join(page_texts(service.day_packet_pdf(d("2025-04-02"))))
    assert "Day 1 = Wed 02-Apr-2025" in text and "Cycle 1" in text
    assert "Collect every sample before the day's dose" in text


def test_an_unrecorded_day_1_counts_from_the_day_it_happens(service):
    service.add_subject(make_subject("101-001", c1d1=d("2025-03-03")))
    service.record_visit("101-001", "SCR", d("2025-02-20"))
    # C2D1's target is 31-Mar; it happens (and is printed) on 03-Apr, the last day of its window;
    # until it is recorded, its day 1 is a plan, as it is on the target day
    text = "\f".join(page_texts(service.day_packet_pdf(d("2025-04-03"))))
    assert "Day 1 = Thu 03-Apr-2025 (planned)" in text
    assert "Day 1 = Mon 31-Mar-2025 (planned)" in "\f".join(page_texts(service.day_packet_pdf(d("2025-03-31"))))
    service.record_visit("101-001", "C2D1", d("2025-04-03"))
    text = "\f".join(page_texts(service.dosing_pdf("101-001", 2)))
    assert "Day 1 = Thu 03-Apr-2025" in text and "(planned)" not in text


def test_each_form_in_the_packet_prints_as_it_does_alone_without_shared_parts(service, monkeypatch):
    """The packet lays out what its forms share once (forms.stamps), under keys naming what each
    part prints: its pages must be those of each form printed alone with every part drawn on its
    page. The subjects differ in everything a key separates (after the review of 09e1d6e)."""
    service.set_site("St. Mary's & <General> Hospital")
    on = d("2025-03-31")  # C2D1 of the first six; C1D22 of 101-008 and 101-009; 101-007's first dose
    for sid, sex, cbp, name in [("101-001", "F", True, "O'Brien & <Smith>"), ("101-002", "M", False, "Émile Ünal"),
                                ("101-003", "F", None, "Zoë"), ("101-004", "F", False, None),
                                ("101-005", "F", True, None), ("101-006", "F", True, None)]:
        service.add_subject(make_subject(sid, sex=sex, cbp=cbp, name=name, c1d1=d("2025-03-03")))
        for code, day in (("SCR", "2025-02-20"), ("C1D8", "2025-03-10"), ("C1D15", "2025-03-17"), ("C1D22", "2025-03-24")):
            service.record_visit(sid, code, d(day))
    service.change_dose("101-001", "selinexor", -1, 2)  # a reduction notice, another calendar
    service.set_steroid("101-001", "dexamethasone", 40, [1, 8, 15, 22])
    service.set_steroid("101-003", "prednisone", 10, list(range(1, 22)))
    service.change_dose("101-003", "lenalidomide", -1, 2)
    service.set_steroid("101-004", "none", 0, [])  # 101-002 and 101-006: not recorded, a notice
    service.set_steroid("101-005", "dexamethasone", 20, [1, 8, 15, 22])  # as 101-001's but for the dose
    for sid, requested in (("101-008", True), ("101-009", False)):
        service.add_subject(make_subject(sid, c1d1=d("2025-03-10")))
        for code, day in (("SCR", "2025-02-27"), ("C1D8", "2025-03-17"), ("C1D15", "2025-03-24")):
            service.record_visit(sid, code, d(day))
        if requested:
            service.request(sid, "C1D22", "bone_marrow_cr")
    service.add_subject(make_subject("101-007", consent="2025-03-20", planned_c1d1=on, name="First Dose"))
    service.record_visit("101-007", "SCR", d("2025-03-21"))
    service.set_steroid("101-007", "methylprednisolone", 12, [1, 8, 15, 22])
    visits = service.day_packet(on)
    assert len(visits) == 9
    packet = service.day_packet_pdf(on)
    with monkeypatch.context() as unstamped:
        unstamped.setattr(Stamps, "__call__", lambda stamps, key, make: make())  # every part drawn on its page
        alone = []
        for subject_id, code in visits:
            alone += unfooted(service.requisition_pdf(subject_id, code, on))
            if code.endswith("D1"):
                alone += unfooted(service.dosing_pdf(subject_id, int(code[1:code.index("D")])))
    assert len(unfooted(packet)) == len(alone) == 9 + 7  # a requisition page each, 7 day 1s' calendars
    assert unfooted(packet) == alone
