"""How long the upload check takes to refuse a decompression bomb, at the upload size limit.

Each bomb is built once (in seconds, from precompressed pieces) and handed to the check every
upload runs before anything is stored (:func:`submissions.uploads.upload_check`, the same call
``POST /api/v1/competitions/{slug}/submissions/`` makes). Printed per bomb: its size on disk,
what it claims or holds when unpacked, the median time to the refusal over ``--runs`` runs and
the refusal's text (or ``ACCEPTED`` when the check let it through).

The bombs:

- ``tgz-one-member``: a tar.gz whose one member holds ``--size`` × ~1000 zero bytes (the
  10 MB file with one 10 GiB member, scaled to the size given);
- ``tgz-many-members``: the same zeros in members of 64 MiB each, so that no single header
  claims much;
- ``tgz-header-flood``: a tar.gz of empty files, as many as ``--size`` bytes of compressed
  headers hold;
- ``zip-repeated-member``: a zip of members of 1 GiB of zeros each (zip's ratio is about the
  same), as many as fit in ``--size``;
- ``zip-entry-flood``: a zip of empty entries, as many as fit in ``--size``;
- ``image-layer-bomb``: a ``docker save``-shaped archive whose one layer is a tgz bomb.

Run: `.venv/bin/python benchmarks/archive_bombs.py [--size 200M] [--runs 5] [--only NAME ...]`.
The default size is the upload limit of the settings (``ARENA_MAX_UPLOAD_BYTES``). Before a
change, run the same script with ``PYTHONPATH`` pointing at the older tree for comparison
(``--size 10M --runs 1`` there: a bomb the old check decompressed whole takes minutes).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import statistics
import struct
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_MIB = 1 << 20
_ZEROS = b"\0" * _MIB
TASK = "membership-inference"  # accepts files and code: every archive goes through the archive checks


def _gzip_of_zeros(size: int) -> bytes:
    """One gzip member holding ``size`` zero bytes (compressed once, reused)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        for _ in range(size // _MIB):
            gz.write(_ZEROS)
        gz.write(b"\0" * (size % _MIB))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info.tobuf(format=tarfile.GNU_FORMAT)  # base-256 sizes: any member size fits


def tgz_zeros(path: Path, *, target: int, member_size: int | None) -> str:
    """Concatenated gzip members (one stream to a reader) of tar headers and zero bodies."""
    piece_size = 64 * _MIB
    piece = _gzip_of_zeros(piece_size)
    pieces = max(1, (target - 4096) // len(piece))
    total = pieces * piece_size
    with open(path, "wb") as out:
        if member_size is None:  # one member holding everything
            out.write(_gzip(_tar_header("main.py", total)))
            for _ in range(pieces):
                out.write(piece)
        else:
            for index in range(pieces):
                out.write(_gzip(_tar_header(f"part{index:05d}.bin", piece_size)))
                out.write(piece)
        out.write(_gzip(b"\0" * 1024))
    return f"{total / 2**30:,.0f} GiB of zeros"


def tgz_header_flood(path: Path, *, target: int) -> str:
    count = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        while raw.tell() < target - 64 * 1024:
            batch = b"".join(_tar_header(f"d/{count + i:09d}", 0) for i in range(10_000))
            gz.write(batch)
            count += 10_000
            if count >= 5_000_000:
                break
        gz.write(b"\0" * 1024)
    return f"{count:,} empty files"


def _zip_local(name: bytes, crc: int, csize: int, usize: int) -> bytes:
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, csize, usize, len(name), 0) + name


def _zip_central(name: bytes, crc: int, csize: int, usize: int, offset: int) -> bytes:
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, csize, usize, len(name),
                       0, 0, 0, 0, 0o100644 << 16, offset) + name


def _zip_end(count: int, central_size: int, central_offset: int) -> bytes:
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, central_size, central_offset, 0)


def zip_repeated_member(path: Path, *, target: int) -> str:
    usize = 1 << 30
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    data, crc = b"", 0
    for _ in range(usize // _MIB):
        data += deflate.compress(_ZEROS)
        crc = zlib.crc32(_ZEROS, crc)
    data += deflate.flush()
    count = max(1, min(60_000, target // (len(data) + 100)))
    central = io.BytesIO()
    with open(path, "wb") as out:
        for index in range(count):
            name = f"part{index:05d}.bin".encode()
            central.write(_zip_central(name, crc, len(data), usize, out.tell()))
            out.write(_zip_local(name, crc, len(data), usize))
            out.write(data)
        start = out.tell()
        out.write(central.getvalue())
        out.write(_zip_end(count, len(central.getvalue()), start))
    return f"{count:,} members of 1 GiB of zeros"


def zip_entry_flood(path: Path, *, target: int) -> str:
    empty_crc, empty = 0, b"\x03\x00"  # a raw deflate stream of nothing
    per_entry = 2 * 10 + 30 + 46 + len(empty)
    count = max(1, target // per_entry)
    central = io.BytesIO()
    with open(path, "wb") as out:
        local = bytearray()
        for index in range(count):
            name = f"{index:010d}".encode()
            central.write(_zip_central(name, empty_crc, len(empty), 0, out.tell() + len(local)))
            local += _zip_local(name, empty_crc, len(empty), 0) + empty
            if len(local) > 8 * _MIB:
                out.write(local)
                local.clear()
        out.write(local)
        start = out.tell()
        directory = central.getvalue()
        out.write(directory)
        if count >= 0xFFFF:  # zip64 end records carry the real count
            zip64_at = out.tell()
            out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(directory), start))
            out.write(struct.pack("<IIQI", 0x07064B50, 0, zip64_at, 1))
            out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            out.write(_zip_end(count, len(directory), start))
    return f"{count:,} empty entries"


def image_layer_bomb(path: Path, *, target: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        layer = Path(tmp) / "layer.tar.gz"
        claimed = tgz_zeros(layer, target=target - 64 * 1024, member_size=None)
        digest = "sha256:" + hashlib.sha256(b"not the content").hexdigest()
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [digest]}})
        manifest = json.dumps([{"Config": "config.json", "RepoTags": ["bomb:1"], "Layers": ["l1/layer.tar"]}])
        with tarfile.open(path, "w") as tar:
            tar.add(layer, arcname="l1/layer.tar")
            for name, data in (("config.json", config), ("manifest.json", manifest)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data.encode()))
    return f"one layer of {claimed}"


BOMBS = {
    "tgz-one-member": lambda path, target: tgz_zeros(path, target=target, member_size=None),
    "tgz-many-members": lambda path, target: tgz_zeros(path, target=target, member_size=64 * _MIB),
    "tgz-header-flood": lambda path, target: tgz_header_flood(path, target=target),
    "zip-repeated-member": lambda path, target: zip_repeated_member(path, target=target),
    "zip-entry-flood": lambda path, target: zip_entry_flood(path, target=target),
    "image-layer-bomb": lambda path, target: image_layer_bomb(path, target=target),
}


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)


def refusal_time(path: Path, filename: str) -> tuple[float, str]:
    """Seconds the upload check took, and its refusal (or ACCEPTED)."""
    from config.errors import InvalidInput
    from submissions.uploads import upload_check

    started = time.perf_counter()
    try:
        kind = upload_check(path=path, filename=filename, task=TASK)
        outcome = f"ACCEPTED as {kind}"
    except InvalidInput as exc:
        outcome = str(exc.args[0] if exc.args else exc)
    return time.perf_counter() - started, outcome


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default=None, help="size of each bomb on disk (default: the upload limit)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=sorted(BOMBS), help="measure only these bombs")
    args = parser.parse_args()
    target = _size(args.size) if args.size else settings.ARENA_MAX_UPLOAD_BYTES
    with tempfile.TemporaryDirectory(prefix="arena-bomb-") as tmp:
        # One honest upload first: the task types are imported once per server process, not per upload.
        warm = Path(tmp) / "predictions.csv"
        warm.write_text("candidate_id,score\nc0000,0.5\n")
        refusal_time(warm, warm.name)
    print(f"upload check of {ROOT}: upload limit {settings.ARENA_MAX_UPLOAD_BYTES:,} bytes, unpacked limit "
          f"{settings.ARENA_MAX_UNPACKED_BYTES:,} bytes, {settings.ARENA_MAX_ARCHIVE_FILES:,} files; "
          f"bombs of {target / _MIB:,.0f} MiB, median of {args.runs} runs")
    print(f"{'bomb':<22}{'on disk':>10}  {'unpacked':<34}{'median s':>9}{'max s':>8}  outcome")
    for name in args.only or list(BOMBS):
        with tempfile.TemporaryDirectory(prefix="arena-bomb-") as tmp:
            suffix = ".zip" if name.startswith("zip") else ".tar" if name.startswith("image") else ".tgz"
            path = Path(tmp) / f"{name}{suffix}"
            claimed = BOMBS[name](path, target)
            times, outcome = [], ""
            for _ in range(args.runs):
                seconds, outcome = refusal_time(path, path.name)
                times.append(seconds)
            print(f"{name:<22}{path.stat().st_size / _MIB:>8.1f}MB  {claimed:<34}{statistics.median(times):>9.3f}"
                  f"{max(times):>8.3f}  {outcome[:110]}", flush=True)


if __name__ == "__main__":
    main()
