"""Image submissions: refused before loading when unsafe, run under the same restrictions."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

import sandbox
from sandbox import (
    FailureClass,
    ImageArchiveInvalid,
    Limits,
    RunSpec,
    check_image_archive,
    load_image_archive,
    remove_image,
)
from sandbox.images import SUBMISSION_REPOSITORY
from sandbox.runner import backend_instance

from .conftest import RUNTIME_IMAGE


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_archive(path: Path, *, manifest=None, layers=None, extra=(), diff_ids=None, config_extra=None,
                  config_bytes=None) -> Path:
    """A `docker save`-shaped archive built by hand (classic layout); the config lists the
    layers' digests unless ``diff_ids`` says otherwise."""
    layers = layers if layers is not None else {"l1/layer.tar": _layer({"hello": b"hi"})}
    if diff_ids is None:
        diff_ids = ["sha256:" + hashlib.sha256(data).hexdigest() for data in layers.values()]
    config = config_bytes or json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello"]},
                                         "rootfs": {"type": "layers", "diff_ids": diff_ids}, **(config_extra or {})}).encode()
    if manifest is None:
        manifest = [{"Config": "config.json", "RepoTags": ["evil:latest"], "Layers": list(layers)}]
    with tarfile.open(path, "w") as tar:
        def add(name, data, **attrs):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for key, value in attrs.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data))
        for name, data in layers.items():
            add(name, data)
        add("config.json", config)
        add("manifest.json", json.dumps(manifest).encode())
        for name, attrs in extra:
            info = tarfile.TarInfo(name)
            for key, value in attrs.items():
                setattr(info, key, value)
            tar.addfile(info)
    return path


# ----------------------------------------------------------------- refusals (no engine needed)


def test_archive_over_the_size_limit_is_refused(tmp_path):
    archive = image_archive(tmp_path / "i.tar")
    with pytest.raises(ImageArchiveInvalid, match="at most 100 are allowed"):
        load_image_archive(archive, max_bytes=100)


def test_too_many_layers_is_refused(tmp_path):
    layers = {f"l{i}/layer.tar": _layer({f"f{i}": b"x"}) for i in range(3)}
    with pytest.raises(ImageArchiveInvalid, match="3 layers; at most 2"):
        load_image_archive(image_archive(tmp_path / "i.tar", layers=layers), max_layers=2)


@pytest.mark.parametrize("linkname", ["../../etc/passwd", "/etc/passwd", "../../outside"])
def test_links_escaping_the_archive_are_refused(tmp_path, linkname):
    archive = image_archive(tmp_path / "i.tar", extra=[("l1/json", {"type": tarfile.SYMTYPE, "linkname": linkname})])
    with pytest.raises(ImageArchiveInvalid, match="outside the archive") as err:
        load_image_archive(archive)
    assert err.value.member == "l1/json"


def test_devices_are_refused(tmp_path):
    archive = image_archive(tmp_path / "i.tar", extra=[("dev", {"type": tarfile.CHRTYPE})])
    with pytest.raises(ImageArchiveInvalid, match="device"):
        load_image_archive(archive)


@pytest.mark.parametrize("manifest, problem", [
    ([], "exactly one image"),
    ([{"Config": "config.json", "Layers": []}] * 2, "exactly one image"),
    ([{"Config": "missing.json", "Layers": []}], "'Config' names no file"),
    ([{"Config": "config.json", "Layers": ["nope/layer.tar"]}], "not in the archive"),
    ([{"Config": "config.json", "Layers": "l1/layer.tar"}], "list of file names"),
])
def test_insane_manifests_are_refused(tmp_path, manifest, problem):
    with pytest.raises(ImageArchiveInvalid, match=problem):
        load_image_archive(image_archive(tmp_path / "i.tar", manifest=manifest))


def test_layer_content_over_the_unpacked_limit_is_refused(tmp_path):
    layers = {"l1/layer.tar": _layer({"big": b"\0" * 200_000})}
    with pytest.raises(ImageArchiveInvalid, match="unpacks to more than") as err:
        load_image_archive(image_archive(tmp_path / "i.tar", layers=layers), max_unpacked_bytes=100_000)
    assert err.value.member == "l1/layer.tar"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_a_well_formed_archive_passes_the_check(tmp_path):
    layers = {"l1/layer.tar": _layer({"a": b"1"}), "l2/layer.tar": _layer({"b": b"2"})}
    check_image_archive(image_archive(tmp_path / "i.tar", layers=layers))


def test_an_empty_layer_passes_the_check(tmp_path):
    # What a build step that changes nothing leaves: a tar of end blocks only.
    layers = {"l1/layer.tar": _layer({"a": b"1"}), "l2/layer.tar": b"\0" * 1024}
    check_image_archive(image_archive(tmp_path / "i.tar", layers=layers))


def test_a_layer_that_does_not_match_the_config_is_refused(tmp_path):
    # The reported attack: a manifest whose layer is not the one the config describes.
    layers = {"l1/layer.tar": _layer({"a": b"1"})}
    archive = image_archive(tmp_path / "i.tar", layers=layers, diff_ids=[_digest(_layer({"other": b"x"}))])
    with pytest.raises(ImageArchiveInvalid, match="does not match the config") as err:
        check_image_archive(archive)
    assert err.value.member == "l1/layer.tar"


def test_layers_listed_in_another_order_than_the_config_are_refused(tmp_path):
    layers = {"l1/layer.tar": _layer({"a": b"1"}), "l2/layer.tar": _layer({"b": b"2"})}
    archive = image_archive(tmp_path / "i.tar", layers=layers, diff_ids=[_digest(layers["l2/layer.tar"]),
                                                                         _digest(layers["l1/layer.tar"])])
    with pytest.raises(ImageArchiveInvalid, match="layer 1 of manifest.json does not match"):
        check_image_archive(archive)


def test_a_manifest_listing_more_layers_than_the_config_is_refused(tmp_path):
    layers = {"l1/layer.tar": _layer({"a": b"1"}), "l2/layer.tar": _layer({"b": b"2"})}
    archive = image_archive(tmp_path / "i.tar", layers=layers, diff_ids=[_digest(layers["l1/layer.tar"])])
    with pytest.raises(ImageArchiveInvalid, match="lists 2 layers, but the config config.json lists 1") as err:
        check_image_archive(archive)
    assert err.value.member == "manifest.json"


@pytest.mark.parametrize("config, problem", [
    (b"not json", "not valid JSON"),
    (json.dumps({"os": "linux"}).encode(), "'rootfs.diff_ids' must be a list"),
    (json.dumps({"rootfs": {"diff_ids": ["md5:abc"]}}).encode(), "'rootfs.diff_ids' must be a list"),
    (json.dumps(["not", "an", "object"]).encode(), "a JSON object"),
    (json.dumps({"os": "windows", "rootfs": {"diff_ids": []}}).encode(), "an image for 'windows'"),
])
def test_a_config_without_layer_digests_is_refused(tmp_path, config, problem):
    with pytest.raises(ImageArchiveInvalid, match=problem):
        check_image_archive(image_archive(tmp_path / "i.tar", config_bytes=config))


def test_an_oci_blob_whose_content_does_not_match_its_name_is_refused(tmp_path):
    layer = _layer({"a": b"1"})
    wrong = "0" * 64
    manifest = [{"Config": "config.json", "Layers": [f"blobs/sha256/{wrong}"]}]
    archive = image_archive(tmp_path / "i.tar", layers={f"blobs/sha256/{wrong}": layer}, manifest=manifest)
    with pytest.raises(ImageArchiveInvalid, match="does not match the digest in its name") as err:
        check_image_archive(archive)
    assert err.value.member == f"blobs/sha256/{wrong}"


def test_a_link_to_nothing_in_the_archive_is_refused(tmp_path):
    archive = image_archive(tmp_path / "i.tar", extra=[("l2/layer.tar", {"type": tarfile.SYMTYPE,
                                                                          "linkname": "../l9/layer.tar"})])
    with pytest.raises(ImageArchiveInvalid, match="which is no file of the archive") as err:
        check_image_archive(archive)
    assert err.value.member == "l2/layer.tar"


def test_a_layer_listed_through_a_link_is_followed(tmp_path):
    # `docker save` writes a layer shared by two images once, and links the second name to it.
    layer = _layer({"a": b"1"})
    manifest = [{"Config": "config.json", "Layers": ["l2/layer.tar"]}]
    archive = image_archive(tmp_path / "i.tar", layers={"l1/layer.tar": layer}, manifest=manifest,
                            diff_ids=[_digest(layer)],
                            extra=[("l2/layer.tar", {"type": tarfile.SYMTYPE, "linkname": "../l1/layer.tar"})])
    check_image_archive(archive)


def test_a_layer_bomb_is_refused_from_its_headers(tmp_path):
    # One member claiming 1 TiB inside a gzip layer: refused before its body is read.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        info = tarfile.TarInfo("big")
        info.size = 1 << 40
        gz.write(info.tobuf(format=tarfile.GNU_FORMAT))
        gz.write(b"\0" * (1 << 20))
    with pytest.raises(ImageArchiveInvalid, match="unpacks to more than"):
        check_image_archive(image_archive(tmp_path / "i.tar", layers={"l1/layer.tar": buf.getvalue()}))


def test_not_an_image_archive_is_refused(tmp_path):
    archive = tmp_path / "i.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("main.py")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ImageArchiveInvalid, match="no manifest.json"):
        load_image_archive(archive)


# ----------------------------------------------------------------- a real image on the engine


ENTRYPOINT = b"""#!/bin/sh
while read -r key value rest; do
  case "$key" in Uid:|CapEff:|NoNewPrivs:) echo "$key $value" >> /output/identity.txt ;; esac
done < /proc/self/status
read -r header < /input/public.csv
echo "$header" > /output/seen.csv
echo "entrypoint args: $*"
"""


@pytest.fixture(scope="module")
def small_image_archive(docker_engine, tmp_path_factory) -> Path:
    """A tiny image cut from the runtime image (dash, sleep, their libraries) and `docker save`d.

    Saved tagged ``anomed-arena-runtime:latest`` on purpose: loading must not move that tag.
    """
    client = docker_engine
    # ldd names the binaries themselves (its "path:" headers) and every library they load.
    files = "$(ldd /usr/bin/dash /usr/bin/sleep | grep -o '/[^ :]*' | sort -u)"
    # Written inside the container and copied out: binary data does not survive the log stream.
    maker = client.containers.create(RUNTIME_IMAGE, ["sh", "-c", f"tar -chf /rootfs.tar {files} 2>/dev/null"],
                                     network_mode="none", user="0")
    try:
        maker.start()
        assert maker.wait(timeout=60)["StatusCode"] == 0
        bits, _ = maker.get_archive("/rootfs.tar")
        with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as outer:
            packed = outer.extractfile("rootfs.tar")
            assert packed is not None, "the builder wrote no rootfs.tar"
            rootfs = packed.read()
    finally:
        maker.remove(force=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(rootfs)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        members = src.getmembers()
        # Parents first, world-readable: implied directories would be created 0700 and the
        # run user could not reach its own binaries.
        parents = sorted({"/".join(m.name.split("/")[:i]) for m in members for i in range(1, m.name.count("/") + 1)})
        for name in parents + ["bin", "app"]:
            directory = tarfile.TarInfo(name)
            directory.type, directory.mode = tarfile.DIRTYPE, 0o755
            dst.addfile(directory)
        for member in members:
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        for name, target in (("bin/sh", "/usr/bin/dash"), ("bin/sleep", "/usr/bin/sleep")):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            dst.addfile(link)
        script = tarfile.TarInfo("app/run.sh")
        script.size, script.mode = len(ENTRYPOINT), 0o755
        dst.addfile(script, io.BytesIO(ENTRYPOINT))
    repository = "anomed-arena-test-small"
    client.api.import_image_from_data(
        buf.getvalue(), repository=repository, tag="1",
        changes=['ENTRYPOINT ["/bin/sh", "/app/run.sh"]', 'CMD ["default-arg"]', "WORKDIR /app",
                 "ENV PATH=/usr/bin:/bin"],
    )
    image = client.images.get(f"{repository}:1")
    path = tmp_path_factory.mktemp("image") / "small.tar"
    with open(path, "wb") as fh:
        for chunk in image.save(named=True):
            fh.write(chunk)
    # Forge the tag a hostile upload would carry.
    forged = path.with_name("forged.tar")
    with tarfile.open(path) as src, tarfile.open(forged, "w") as dst:
        for member in src:
            content = src.extractfile(member) if member.isreg() else None
            data = content.read() if content else None
            if member.name == "manifest.json":
                assert data is not None
                manifest = json.loads(data)
                manifest[0]["RepoTags"] = [RUNTIME_IMAGE]
                data = json.dumps(manifest).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    client.images.remove(f"{repository}:1")
    return forged


@pytest.mark.docker
def test_image_submission_loads_runs_and_is_removed(docker_engine, small_image_archive, tmp_path):
    client = docker_engine
    runtime_id = client.images.get(RUNTIME_IMAGE).id
    assert sandbox.detect_archive(small_image_archive) is sandbox.ArchiveFormat.DOCKER_IMAGE

    image_id = load_image_archive(small_image_archive, label="Team 7/Run 3", max_layers=4)
    try:
        assert client.images.get(RUNTIME_IMAGE).id == runtime_id, "the archive's tag was applied"
        assert client.images.get(image_id).tags == [f"{SUBMISSION_REPOSITORY}:team-7-run-3"]

        input_dir = tmp_path / "input"
        input_dir.mkdir()
        (input_dir / "public.csv").write_text("id,age\n1,2\n")
        submission = tmp_path / "submission"
        submission.mkdir()
        spec = RunSpec(submission_dir=submission, input_dir=input_dir, image=image_id, command=(),
                       use_image_entrypoint=True, env={"ARENA_ROLE": "attack"},
                       limits=Limits(wall_seconds=10, memory_mb=128, output_mb=1))
        result = sandbox.run(spec, output_dir=tmp_path / "out", backend="docker")
        assert result.ok, (result.message, result.stderr)
        assert result.stdout == "entrypoint args: default-arg\n"
        assert (tmp_path / "out" / "seen.csv").read_text() == "id,age\n"
        identity = (tmp_path / "out" / "identity.txt").read_text().split("\n")
        assert "Uid: 65534" in identity and "CapEff: 0000000000000000" in identity and "NoNewPrivs: 1" in identity

        # Arguments replace CMD, as with `docker run IMAGE ARGS`.
        result = sandbox.run(RunSpec(submission, input_dir, image=image_id, command=("x", "y"),
                                     use_image_entrypoint=True, limits=Limits(wall_seconds=10, memory_mb=128)),
                             output_dir=tmp_path / "out2", backend="docker")
        assert result.stdout == "entrypoint args: x y\n"
    finally:
        backend_instance("docker").wait_for_cleanup()  # the image is in use until its containers go
        remove_image(image_id)
    import docker

    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(image_id)
    assert client.images.get(RUNTIME_IMAGE).id == runtime_id


@pytest.mark.docker
@pytest.mark.parametrize("config_extra, reason", [
    ({"created": "not a time"}, "parsing time"),
    ({"history": [{"empty_layer": False}, {"empty_layer": False}]}, "too many non-empty layers"),
])
def test_an_archive_the_engine_refuses_is_the_archives_fault(docker_engine, tmp_path, config_extra, reason):
    # Consistent enough for the upload check, refused by the engine: the team's failure
    # (ImageArchiveInvalid, charged), not the SDK's error that made it an infrastructure fault.
    archive = image_archive(tmp_path / "i.tar", config_extra=config_extra)
    check_image_archive(archive)
    with pytest.raises(ImageArchiveInvalid, match=f"the engine refused to load the image: .*{reason}"):
        load_image_archive(archive, label="refused")


@pytest.mark.docker
def test_remove_image_never_deletes_an_image_it_did_not_tag(docker_engine):
    runtime_id = docker_engine.images.get(RUNTIME_IMAGE).id
    remove_image(runtime_id)
    assert docker_engine.images.get(RUNTIME_IMAGE).id == runtime_id


def test_image_submission_on_the_process_backend_is_an_infrastructure_failure(tmp_path):
    result = sandbox.run(RunSpec(tmp_path, tmp_path, image="x", use_image_entrypoint=True, command=()),
                         output_dir=tmp_path / "o", backend="process")
    assert result.failure is FailureClass.INFRASTRUCTURE


@pytest.mark.parametrize("path, problem", [("tmp", "/tmp in the image is not a folder"),
                                           ("output", "/output in the image is not a folder")])
def test_a_file_where_the_sandbox_mounts_a_folder_is_refused(tmp_path, path, problem):
    layers = {"l1/layer.tar": _layer({path: b"a file"})}
    with pytest.raises(ImageArchiveInvalid, match=problem) as err:
        check_image_archive(image_archive(tmp_path / "i.tar", layers=layers))
    assert err.value.member == "l1/layer.tar"


@pytest.mark.docker
def test_an_image_the_engine_cannot_start_is_the_teams_failure(docker_engine, tmp_path, monkeypatch):
    # Loaded without the upload check (an older upload, say): /tmp is a file, so the engine
    # refuses the container. The run is the team's failure, not an infrastructure fault.
    layers = {"l1/layer.tar": _layer({"tmp": b"a file"})}
    archive = image_archive(tmp_path / "i.tar", layers=layers)
    with monkeypatch.context() as unchecked:
        unchecked.setattr("sandbox.images._check_mount_point", lambda entry, layer: None)
        image_id = load_image_archive(archive, label="cannot-start")
    try:
        (tmp_path / "input").mkdir()
        (tmp_path / "submission").mkdir()
        result = sandbox.run(RunSpec(tmp_path / "submission", tmp_path / "input", image=image_id, command=("/hello",),
                                     use_image_entrypoint=True, limits=Limits(wall_seconds=10, memory_mb=128)),
                             output_dir=tmp_path / "out", backend="docker")
        assert result.failure is FailureClass.EXIT_CODE, (result.failure, result.message)
        assert result.message.startswith("the engine cannot start a container from the image:")
        assert "/tmp" in result.message
    finally:
        backend_instance("docker").wait_for_cleanup()
        remove_image(image_id)
