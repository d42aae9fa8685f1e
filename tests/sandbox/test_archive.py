"""Submission archives: only safe members are unpacked, bombs stop while streaming."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from sandbox.archive import (
    ArchiveFormat,
    ArchiveLimits,
    SubmissionArchiveInvalid,
    detect_archive,
    unpack_submission,
)


def make_tar(path: Path, members: list[tuple[str, bytes | None, dict]], gz: bool = True) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, data, extra in members:
            info = tarfile.TarInfo(name)
            for key, value in extra.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def make_zip(path: Path, members: dict[str, bytes], modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if modes and name in modes:
                info.external_attr = modes[name] << 16
            zf.writestr(info, data)
    return path


def test_zip_with_main_py_unpacks_and_returns_the_command(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"main.py": b"print(1)\n", "lib/util.py": b"x = 1\n"})
    command = unpack_submission(archive, tmp_path / "out")
    assert command == ("python3", "main.py")
    assert (tmp_path / "out" / "lib" / "util.py").read_text() == "x = 1\n"
    assert stat.S_IMODE((tmp_path / "out" / "main.py").stat().st_mode) == 0o644


def test_tar_gz_with_submission_yaml_command(tmp_path):
    archive = make_tar(tmp_path / "s.tar.gz", [
        ("./", None, {"type": tarfile.DIRTYPE}),
        ("./submission.yaml", b"command: [python3, -m, attack, --fast]\n", {}),
        ("./attack/__main__.py", b"print(2)\n", {}),
    ])
    assert detect_archive(archive) is ArchiveFormat.TAR
    assert unpack_submission(archive, tmp_path / "out") == ("python3", "-m", "attack", "--fast")


def test_submission_yaml_command_as_string_is_split(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"submission.yaml": b"command: Rscript 'run me.R'\n"})
    assert unpack_submission(archive, tmp_path / "out") == ("Rscript", "run me.R")


@pytest.mark.parametrize("yaml_text", [b"command: []\n", b"command: 3\n", b"- a\n", b"command: [a, 1]\n", b": :\n  - [\n"])
def test_bad_submission_yaml_is_refused_naming_the_file(tmp_path, yaml_text):
    archive = make_zip(tmp_path / "s.zip", {"submission.yaml": yaml_text, "main.py": b""})
    with pytest.raises(SubmissionArchiveInvalid) as err:
        unpack_submission(archive, tmp_path / "out")
    assert err.value.member == "submission.yaml"


def test_missing_entry_point_points_at_the_nested_folder(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"mysub/main.py": b""})
    with pytest.raises(SubmissionArchiveInvalid, match="found mysub/main.py"):
        unpack_submission(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # nothing left behind


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "a/../main.py", "C:/evil.py", "a\\..\\evil.py"])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_escaping_names_are_refused(tmp_path, name, kind):
    if kind == "zip":
        archive = make_zip(tmp_path / "s.zip", {"main.py": b"", name: b"pwned"})
    else:
        archive = make_tar(tmp_path / "s.tgz", [("main.py", b"", {}), (name, b"pwned", {})])
    with pytest.raises(SubmissionArchiveInvalid) as err:
        unpack_submission(archive, tmp_path / "out" / "deep")
    assert err.value.member == name
    assert not any(p.name == "evil.py" for p in tmp_path.rglob("*"))
    assert list((tmp_path / "out" / "deep").iterdir()) == []


@pytest.mark.parametrize("extra, problem", [
    ({"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, "symbolic link"),
    ({"type": tarfile.LNKTYPE, "linkname": "main.py"}, "hard link"),
    ({"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}, "device"),
    ({"type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}, "device"),
    ({"type": tarfile.FIFOTYPE}, "FIFO"),
])
def test_tar_links_and_devices_are_refused(tmp_path, extra, problem):
    archive = make_tar(tmp_path / "s.tgz", [("main.py", b"", {}), ("link", None, extra)])
    with pytest.raises(SubmissionArchiveInvalid, match=problem) as err:
        unpack_submission(archive, tmp_path / "out")
    assert err.value.member == "link"
    assert not os.path.lexists(tmp_path / "out" / "link")


def test_zip_symlink_is_refused(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"main.py": b"", "link": b"/etc/passwd"}, modes={"link": stat.S_IFLNK | 0o777})
    with pytest.raises(SubmissionArchiveInvalid, match="symbolic link") as err:
        unpack_submission(archive, tmp_path / "out")
    assert err.value.member == "link"


def test_duplicate_names_are_refused(tmp_path):
    archive = make_tar(tmp_path / "s.tgz", [("main.py", b"print(1)", {}), ("./main.py", b"evil", {})])
    with pytest.raises(SubmissionArchiveInvalid, match="twice"):
        unpack_submission(archive, tmp_path / "out")


def _gzip_bomb(path: Path, size: int) -> Path:
    """A tar.gz whose one member decompresses to ``size`` zero bytes (about 1000:1)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
        info = tarfile.TarInfo("main.py")
        info.size = size
        gz.write(info.tobuf(format=tarfile.GNU_FORMAT))
        chunk = b"\0" * (1 << 20)
        for _ in range(size // len(chunk)):
            gz.write(chunk)
        gz.write(b"\0" * (-size % 512) + b"\0" * 1024)
    return path


def test_tar_gz_bomb_stops_at_the_limit_while_streaming(tmp_path):
    archive = _gzip_bomb(tmp_path / "bomb.tgz", 256 << 20)
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(SubmissionArchiveInvalid, match="more than 1048576 bytes"):
        unpack_submission(archive, tmp_path / "out", limits=ArchiveLimits(max_bytes=1 << 20))
    # Refused while the format was recognised, from the member's header: nothing was written.
    assert not (tmp_path / "out").exists()


def test_zip_bomb_with_lying_header_stops_at_the_limit(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("main.py", b"\0" * (64 << 20))
    # Forge the sizes in both headers: a reader trusting them would think 10 bytes.
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset: at + offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(SubmissionArchiveInvalid) as err:
        unpack_submission(archive, tmp_path / "out", limits=ArchiveLimits(max_bytes=1 << 20))
    assert err.value.member == "main.py"
    total = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert total == 0


def test_pax_header_bomb_cannot_make_tarfile_buffer_it(tmp_path):
    # A pax extended header claiming 512 MiB: tarfile would read it whole into memory.
    archive = tmp_path / "pax.tgz"
    with gzip.open(archive, "wb") as gz:
        info = tarfile.TarInfo("././@PaxHeader")
        info.type = tarfile.XHDTYPE
        info.size = 512 << 20
        gz.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        chunk = b"9" * (1 << 20)
        for _ in range(16):
            gz.write(chunk)
    with pytest.raises(SubmissionArchiveInvalid, match="metadata record of 536870912 bytes"):
        unpack_submission(archive, tmp_path / "out", limits=ArchiveLimits(max_bytes=1 << 20, max_files=10))


def test_too_many_files_is_refused(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"main.py": b"", **{f"f{i}": b"" for i in range(20)}})
    with pytest.raises(SubmissionArchiveInvalid, match="more than 10 files"):
        unpack_submission(archive, tmp_path / "out", limits=ArchiveLimits(max_files=10))


def test_not_an_archive_is_refused(tmp_path):
    path = tmp_path / "s.zip"
    path.write_bytes(b"just some text, not an archive" * 40)
    with pytest.raises(SubmissionArchiveInvalid, match="not a zip, tar or tar.gz"):
        detect_archive(path)


def test_docker_save_layout_is_detected_as_an_image(tmp_path):
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    manifest = json.dumps([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["abc/layer.tar"]}]).encode()
    archive = make_tar(tmp_path / "image.tar", [
        ("abc/layer.tar", layer.getvalue(), {}), ("c.json", b"{}", {}), ("manifest.json", manifest, {}),
    ], gz=False)
    assert detect_archive(archive) is ArchiveFormat.DOCKER_IMAGE
    with pytest.raises(SubmissionArchiveInvalid, match="Docker image archive"):
        unpack_submission(archive, tmp_path / "out")


# ----------------------------------------------------------------- recognised once, within budget


def _claiming_tgz(path: Path, members: list[tuple[str, int]], body: int = 1 << 20) -> Path:
    """A tar.gz whose headers claim the given sizes; only ``body`` bytes of each are written
    (a reader that trusts the claims never reads on to find out)."""
    with gzip.open(path, "wb") as gz:
        for name, size in members:
            info = tarfile.TarInfo(name)
            info.size = size
            gz.write(info.tobuf(format=tarfile.GNU_FORMAT))
            gz.write(b"\0" * min(size, body))
    return path


def test_a_member_claiming_more_than_the_limit_is_refused_from_its_header(tmp_path):
    # The reported bomb: one member of 10 GiB. Refused on its header, before its body is read.
    archive = _claiming_tgz(tmp_path / "bomb.tgz", [("main.py", 10 << 30)])
    with pytest.raises(SubmissionArchiveInvalid, match="more than 1048576 bytes: its headers claim 10737418240") as err:
        detect_archive(archive, limits=ArchiveLimits(max_bytes=1 << 20))
    assert err.value.member == "main.py"


def test_claims_of_many_members_add_up(tmp_path):
    archive = _claiming_tgz(tmp_path / "bomb.tgz", [(f"part{i}", 600_064) for i in range(4)], body=600_064)
    with pytest.raises(SubmissionArchiveInvalid, match="its headers claim 1200128 bytes") as err:
        unpack_submission(archive, tmp_path / "out", limits=ArchiveLimits(max_bytes=1 << 20))
    assert err.value.member == "part1"
    assert not (tmp_path / "out").exists()


def test_a_header_flood_is_refused_while_recognising_the_archive(tmp_path):
    archive = _claiming_tgz(tmp_path / "flood.tgz", [(f"f{i}", 0) for i in range(50)])
    with pytest.raises(SubmissionArchiveInvalid, match="more than 10 files and directories"):
        detect_archive(archive, limits=ArchiveLimits(max_files=10))


def test_reading_past_the_deadline_is_refused_naming_the_limit(tmp_path):
    archive = _claiming_tgz(tmp_path / "slow.tgz", [("main.py", 4096)])
    with pytest.raises(SubmissionArchiveInvalid, match="took longer than the limit of 0 s"):
        detect_archive(archive, limits=ArchiveLimits(max_seconds=0))


def test_a_zip_whose_members_claim_more_than_the_limit_is_refused_before_inflating(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {f"part{i}": b"\0" * 400_000 for i in range(3)})
    with pytest.raises(SubmissionArchiveInvalid, match="its headers claim 1200000 bytes"):
        unpack_submission(archive, tmp_path / "out", limits=ArchiveLimits(max_bytes=1 << 20))
    assert list((tmp_path / "out").iterdir()) == []


def test_a_zip_entry_flood_is_refused_from_its_end_record(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "flood.zip", {f"f{i}": b"" for i in range(70_000)})  # a zip64 count

    def parse(*args, **kwargs):
        raise AssertionError("zipfile parsed the central directory of a zip with too many entries")

    monkeypatch.setattr(zipfile, "ZipFile", parse)
    with pytest.raises(SubmissionArchiveInvalid, match="more than 10000 files"):
        unpack_submission(archive, tmp_path / "out")
