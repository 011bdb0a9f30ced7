"""The run record names the container image it ran in (from the variables the Dockerfile and mlcube.yaml set)."""
from __future__ import annotations

from common.results.runrecord import container, run_record

ID = "sha256:" + "0123456789abcdef" * 4


def test_outside_a_container_there_is_no_image(monkeypatch):
    monkeypatch.delenv("DATAPERF_CONTAINER", raising=False)
    monkeypatch.setenv("DATAPERF_IMAGE_ID", ID)
    assert container() is None and run_record("evaluate", {})["container"] is None


def test_inside_a_cube_image(monkeypatch):
    monkeypatch.setenv("DATAPERF_CONTAINER", "1")
    monkeypatch.setenv("DATAPERF_IMAGE", "dataperf/vision-selection:0.1.0")
    monkeypatch.setenv("DATAPERF_IMAGE_ID", ID + "\n")
    assert run_record("evaluate", {"seed": 0})["container"] == {"image": "dataperf/vision-selection:0.1.0",
                                                               "image_id": ID}
    # a plain `docker run` (no mlcube), or an inspect that failed: known to be in a container, image unknown
    monkeypatch.delenv("DATAPERF_IMAGE")
    monkeypatch.setenv("DATAPERF_IMAGE_ID", "Error: No such image")
    assert container() == {"image": None, "image_id": None}
