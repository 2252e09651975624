"""The trail's UTC time stamps shown on the workstation's clock, with its zone."""

import datetime as dt

from coordinator.ui.times import local_date, local_day, local_time


def test_times_show_in_local_time_with_their_zone(paris):
    assert local_time("2026-11-23T13:03:12.123456Z") == "23-Nov-2026 14:03:12 CET"
    assert local_time("2026-07-01T13:03:12Z", seconds=False) == "01-Jul-2026 15:03 CEST"
    assert local_date("2026-11-23T23:30:00Z") == dt.date(2026, 11, 24)  # the day as the coordinator lives it


def test_a_day_shows_as_the_coordinator_reads_it(paris):
    assert local_day("2026-11-23T23:30:00Z") == "24-Nov-2026"
    assert local_day(None) == "" and local_day("") == ""
    assert local_day("not a time") == "not a time"  # shown as stored rather than hidden
    assert local_time("not a time") == "not a time"
