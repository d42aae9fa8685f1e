"""Hostile uploads through the submissions API, as the attacker sent them.

A decompression bomb must be refused from what its headers claim, before its body is
decompressed, and an image archive the engine would refuse must be refused at upload: both a
400 naming the problem that stores nothing and costs no quota. An image that still fails to
load at run time is the team's failure, charged like any crash, never an infrastructure fault
retried for free.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import tarfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from competitions.models import Team
from competitions.selectors import phase_open_latest
from competitions.services import team_create
from submissions.models import Submission
from submissions.services import quota_state

pytestmark = pytest.mark.django_db

URL = "/api/v1/competitions/mia-test/submissions/"


@pytest.fixture
def member(make_user, membership_competition, settings):
    settings.ARENA_EVALUATION_MODE = "manual"
    user = make_user("attacker")
    team_create(competition=membership_competition, user=user, name="Attackers")
    return user


def _post(client, name: str, data: bytes):
    return client.post(URL, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def _assert_nothing_stored(membership_competition) -> None:
    assert Submission.objects.count() == 0
    team = Team.objects.get(competition=membership_competition, name="Attackers")
    phase = phase_open_latest(competition=membership_competition)
    assert phase is not None
    state = quota_state(team=team, phase=phase)
    assert (state.used_today, state.used_total) == (0, 0)


# ----------------------------------------------------------------- decompression bombs


def _gzip_bomb(member_size: int) -> bytes:
    """A .tgz with one member of ``member_size`` zero bytes: about 1000 times smaller than that,
    built from one precompressed 64 MiB piece (concatenated gzip members read as one stream)."""
    piece_size = 64 << 20
    piece = gzip.compress(b"\0" * piece_size, compresslevel=9, mtime=0)
    info = tarfile.TarInfo("main.py")
    info.size = member_size
    parts = [gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT), mtime=0)]
    parts += [piece] * (member_size // piece_size)
    parts.append(gzip.compress(b"\0" * 1024, mtime=0))
    return b"".join(parts)


def test_gzip_bomb_is_refused_from_its_header_and_costs_no_quota(client_for, member, membership_competition, settings):
    bomb = _gzip_bomb(10 << 30)  # the reported 10 MB .tgz with one 10 GiB member
    assert len(bomb) < 12 << 20
    response = _post(client_for(member), "bomb.tgz", bomb)
    assert response.status_code == 400
    error = response.json()["error"]
    limit = settings.ARENA_MAX_UNPACKED_BYTES
    # Refused on the member's header, naming the limit: the 10 GiB were never decompressed.
    assert f"bomb.tgz: main.py: the archive would unpack to more than {limit} bytes: its headers claim {10 << 30}" in error
    _assert_nothing_stored(membership_competition)


def _zip_of_zeros(members: int, member_size: int) -> bytes:
    """A zip of ``members`` entries of ``member_size`` zero bytes each, deflated once."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = deflate.compress(b"\0" * member_size) + deflate.flush()
    crc = zlib.crc32(b"\0" * member_size)
    local, central = io.BytesIO(), io.BytesIO()
    for index in range(members):
        name = f"part{index}.bin".encode()
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), member_size,
                                  len(name), 0, 0, 0, 0, 0o100644 << 16, local.tell()) + name)
        local.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), member_size, len(name), 0)
                    + name + data)
    directory = central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, len(directory), local.tell(), 0)
    return local.getvalue() + directory + end


def test_zip_bomb_is_refused_before_anything_is_inflated(client_for, member, membership_competition, settings):
    settings.ARENA_MAX_UNPACKED_BYTES = 64 << 20  # a smaller limit keeps the bomb small to build
    bomb = _zip_of_zeros(members=5, member_size=32 << 20)
    response = _post(client_for(member), "bomb.zip", bomb)
    assert response.status_code == 400
    assert f"more than {64 << 20} bytes: its headers claim {5 * (32 << 20)} bytes" in response.json()["error"]
    _assert_nothing_stored(membership_competition)


# ----------------------------------------------------------------- image archives


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _image_archive(layers: dict[str, bytes], *, diff_ids: list[str] | None = None, config_extra: dict | None = None) -> bytes:
    """A `docker save`-shaped archive (classic layout) of the given layers."""
    diff_ids = diff_ids if diff_ids is not None else [_digest(data) for data in layers.values()]
    config = {"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}, **(config_extra or {})}
    manifest = [{"Config": "config.json", "RepoTags": ["attack:1"], "Layers": list(layers)}]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [*layers.items(), ("config.json", json.dumps(config).encode()),
                           ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_image_with_a_manifest_layer_mismatch_is_refused_at_upload(client_for, member, membership_competition):
    # The reported attack: the manifest lists a layer that is not the one the config describes.
    layers = {"l1/layer.tar": _layer({"run.sh": b"#!/bin/sh\nexit 0\n"})}
    archive = _image_archive(layers, diff_ids=[_digest(_layer({"other": b"x"}))])
    response = _post(client_for(member), "image.tar", archive)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "image.tar: l1/layer.tar: layer 1 of manifest.json does not match the config" in error
    _assert_nothing_stored(membership_competition)


def test_image_whose_config_lists_other_layers_is_refused_at_upload(client_for, member, membership_competition):
    layers = {"l1/layer.tar": _layer({"a": b"1"}), "l2/layer.tar": _layer({"b": b"2"})}
    archive = _image_archive(layers, diff_ids=[_digest(layers["l1/layer.tar"])])
    response = _post(client_for(member), "image.tar", archive)
    assert response.status_code == 400
    assert "manifest.json: lists 2 layers, but the config config.json lists 1" in response.json()["error"]
    _assert_nothing_stored(membership_competition)


def test_a_consistent_image_archive_is_accepted(client_for, member):
    archive = _image_archive({"l1/layer.tar": _layer({"run.sh": b"#!/bin/sh\nexit 0\n"})})
    response = _post(client_for(member), "image.tar", archive)
    assert response.status_code == 201, response.json()
    assert Submission.objects.get(pk=response.json()["id"]).kind == Submission.IMAGE


def _docker_or_skip() -> None:
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        if os.environ.get("CI"):
            pytest.fail(f"CI requires a Docker engine: {exc}")
        pytest.skip(f"no Docker engine answers ({exc})")


def test_an_image_the_engine_refuses_to_load_is_the_teams_failure_and_counts(client_for, member, membership_competition):
    _docker_or_skip()
    from evaluation.jobs import evaluate_submission

    # Consistent as far as the upload check reads it; the engine refuses its creation time.
    archive = _image_archive({"l1/layer.tar": _layer({"run.sh": b"#!/bin/sh\nexit 0\n"})},
                             config_extra={"created": "not a time"})
    response = _post(client_for(member), "image.tar", archive)
    assert response.status_code == 201, response.json()
    evaluate_submission(response.json()["id"])
    submission = Submission.objects.get(pk=response.json()["id"])
    # Failed once, as the team's own failure: not queued again, charged to the quota.
    assert (submission.status, submission.failure_class, submission.attempts) == (
        Submission.FAILED, Submission.EXIT_CODE, 1)
    assert "the engine refused to load the image" in submission.error
    assert submission.counts_against_quota
    assert quota_state(team=submission.team, phase=submission.phase).used_total == 1
