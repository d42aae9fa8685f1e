"""The container's restrictions, built by one pure function: checked without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

docker = pytest.importorskip("docker")

from sandbox import Limits, RunSpec  # noqa: E402
from sandbox.docker_backend import ETC_HOSTS, LABEL, LABEL_DEADLINE, container_kwargs, output_volume_options  # noqa: E402


def spec(**limits) -> RunSpec:
    return RunSpec(Path("/srv/sub"), Path("/srv/in"), env={"ARENA_TASK": "t"}, limits=Limits(**limits),
                   labels={"org.anomed-arena.submission": "42"})


def test_every_restriction_of_the_contract_is_set():
    kwargs = container_kwargs(spec(memory_mb=512, cpus=1.5, pids=100, open_files=64, tmp_mb=32),
                              run_id="r1", now=1000.0)
    # No network: the engine's networking is left out, the runtime gives a namespace with lo only.
    assert kwargs["network_mode"] == "none" and kwargs["network_disabled"] is True
    # The init and keeper run as a uid of their own: the program (exec'd as 65534) cannot signal them.
    assert kwargs["user"] == "65533:65533" and kwargs["init"] is True
    assert kwargs["read_only"] is True
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["security_opt"] == ["no-new-privileges"]
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == "512m"
    assert kwargs["nano_cpus"] == 1_500_000_000
    assert kwargs["pids_limit"] == 100
    assert {(u["Name"], u["Soft"], u["Hard"]) for u in kwargs["ulimits"]} == {("nofile", 64, 64), ("core", 0, 0)}
    assert kwargs["tmpfs"] == {"/tmp": "size=32m,uid=65534,gid=65534,mode=1777,nodev,nosuid"}
    mounts = {m["Target"]: m for m in kwargs["mounts"]}
    assert mounts["/submission"]["ReadOnly"] and mounts["/submission"]["Type"] == "bind"
    assert mounts["/input"]["ReadOnly"] and mounts["/input"]["Source"] == "/srv/in"
    assert mounts["/etc/hosts"]["ReadOnly"] and mounts["/etc/hosts"]["Source"] == str(ETC_HOSTS)
    assert "localhost" in ETC_HOSTS.read_text()
    output = mounts["/output"]
    # Anonymous (removed with the container), empty at start, a tmpfs capped at output_mb, labelled.
    assert output["Type"] == "volume" and output["Source"] is None and output["ReadOnly"] is False
    assert output["VolumeOptions"]["NoCopy"] is True
    assert output["VolumeOptions"]["DriverConfig"] == {"Name": "local", "Options": output_volume_options(100)}
    assert output["VolumeOptions"]["Labels"][LABEL] == "1"
    assert output["VolumeOptions"]["Labels"]["org.anomed-arena.submission"] == "42"
    assert kwargs["environment"] == {"ARENA_TASK": "t"}
    assert kwargs["working_dir"] == "/submission"
    assert kwargs["labels"][LABEL] == "1" and kwargs["labels"]["org.anomed-arena.submission"] == "42"
    assert float(kwargs["labels"][LABEL_DEADLINE]) > 1000 + 600
    assert "device_requests" not in kwargs
    # The idle keeper replaces the image's ENTRYPOINT; the program itself runs later by exec.
    assert kwargs["entrypoint"] == ["sleep"] and kwargs["command"] == ["infinity"] and kwargs["init"] is True
    # Nothing that would hand the host to the program.
    assert not {"privileged", "volumes", "devices", "pid_mode", "cap_add", "ports"} & set(kwargs)
    assert all("docker.sock" not in str(m) for m in kwargs["mounts"])


@pytest.mark.parametrize("gpus", [1, 2, -1])
def test_gpu_request_only_when_asked(gpus):
    kwargs = container_kwargs(spec(gpus=gpus), run_id="r")
    (request,) = kwargs["device_requests"]
    assert request["Count"] == gpus
    assert request["Capabilities"] == [["gpu"]]


def test_output_volume_is_a_capped_tmpfs_owned_by_the_run_user():
    options = output_volume_options(3)
    assert options["type"] == options["device"] == "tmpfs"
    assert f"size={3 * 1024 * 1024}" in options["o"] and "uid=65534" in options["o"]
