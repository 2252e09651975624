"""The demo database: synthetic subjects at every stage, made whole or not at all."""

import pytest

from coordinator import demo
from coordinator.service import Service


def test_the_demo_database_holds_every_demo_subject(tmp_path):
    service = demo.create(tmp_path / "demo.db", "tester")
    try:
        assert len(service.store.subject_ids()) == len(demo.STORIES)
        assert service.audit()[-1].new == f"{len(demo.STORIES)} subjects from demo"
    finally:
        service.close()


def test_a_demo_that_fails_half_way_leaves_no_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug while importing the demo subjects")

    monkeypatch.setattr(Service, "import_subjects", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        demo.create(tmp_path / "demo.db")
    assert list(tmp_path.iterdir()) == []
