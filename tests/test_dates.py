"""Dates as the coordinator reads and writes them."""

from helpers import d

from coordinator.dates import display_window


def test_window_text():
    assert display_window(d("2025-03-09"), d("2025-03-11")) == "09-Mar-2025 – 11-Mar-2025"
    assert display_window(d("2025-03-03"), d("2025-03-03")) == "03-Mar-2025"
    assert display_window(d("2025-03-09"), d("2025-03-11"), sep=" to ") == "09-Mar-2025 to 11-Mar-2025"
