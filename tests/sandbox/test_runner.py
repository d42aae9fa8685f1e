"""Backend choice."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox
from sandbox import RunSpec, runner


def test_unknown_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown sandbox backend"):
        sandbox.run(RunSpec(tmp_path, tmp_path), output_dir=tmp_path / "o", backend="vm")


def test_docker_is_chosen_when_the_engine_has_the_image(monkeypatch):
    spec = RunSpec(Path("/s"), Path("/i"))
    monkeypatch.setattr(runner.backend_instance("docker"), "available", lambda image=None: image == spec.image)
    assert runner.choose_backend(spec) == "docker"
    assert runner.choose_backend(RunSpec(Path("/s"), Path("/i"), image="other:1")) == "process"
    assert runner.choose_backend(spec, "process") == "process"


def test_available_backends_lists_what_works_here(monkeypatch):
    monkeypatch.setattr(runner.backend_instance("docker"), "available", lambda image=None: False)
    monkeypatch.setattr(runner.backend_instance("process"), "available", lambda: True)
    assert sandbox.available_backends() == ["process"]


@pytest.mark.docker
def test_available_backends_on_this_machine(docker_engine):
    assert "docker" in sandbox.available_backends("anomed-arena-runtime:latest")


@pytest.mark.docker
def test_missing_image_is_an_infrastructure_failure(docker_engine, tmp_path):
    result = sandbox.run(RunSpec(tmp_path, tmp_path, image="anomed-arena-no-such-image:1"),
                         output_dir=tmp_path / "o", backend="docker")
    assert result.failure is sandbox.FailureClass.INFRASTRUCTURE
    assert "anomed-arena-no-such-image" in result.message
