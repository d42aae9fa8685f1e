"""Image submissions: loading a ``docker save`` archive safely, and removing it afterwards.

``docker load`` trusts its input in ways a competition server cannot:

- it applies the archive's own tags (``manifest.json`` RepoTags, the legacy ``repositories``
  file, OCI ``index.json`` name annotations). An upload tagged
  ``anomed-arena-runtime:latest`` — or ``postgres:15`` on a host that runs one — would replace
  that image for everyone. So the archive is rewritten with every tag removed, and the loaded
  image is tagged only ``anomed-arena-submission:<label>``;
- it unpacks layers of any size, so the layers are measured before anything is loaded:
  their file sizes (what the engine will write) and their count are bounded;
- links in the outer archive must stay inside it.

The checks read the archive twice (measure, then rewrite into a temporary file), which costs
disk I/O proportional to the upload but keeps the engine away from anything unchecked.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import re
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .archive import (
    ArchiveLimits,
    SafeTarInfo,
    SubmissionArchiveInvalid,
    _BoundedReader,
    _clean_name,
    _StreamBudgetExceeded,
)

SUBMISSION_REPOSITORY = "anomed-arena-submission"
_MAX_JSON = 1 << 20
_TAG_RE = re.compile(r"[^a-z0-9_.-]")
_GZIP = b"\x1f\x8b"


class ImageArchiveInvalid(SubmissionArchiveInvalid):
    """The image archive is refused; the message names the member and the problem."""


@dataclass
class _Scan:
    members: dict[str, tarfile.TarInfo] = field(default_factory=dict)
    manifest: list | None = None
    index: dict | None = None
    layer_bytes: int = 0


def _open(path: Path, budget: int):
    raw = open(path, "rb")
    head = raw.read(2)
    raw.seek(0)
    stream = gzip.GzipFile(fileobj=raw, mode="rb") if head == _GZIP else raw
    return raw, tarfile.open(fileobj=_BoundedReader(stream, budget), mode="r|", tarinfo=SafeTarInfo)


def _read_json(tar: tarfile.TarFile, member: tarfile.TarInfo):
    if member.size > _MAX_JSON:
        raise ImageArchiveInvalid("larger than 1 MiB", member=member.name)
    fh = tar.extractfile(member)
    assert fh is not None
    try:
        return json.loads(fh.read(_MAX_JSON + 1))
    except ValueError as exc:
        raise ImageArchiveInvalid(f"not valid JSON ({exc})", member=member.name) from None


def _measure_layer(fh, member: str, budget: int) -> int:
    """Total size of the files a layer holds, read from its (maybe gzip) tar stream."""
    head = fh.peek(2)[:2] if hasattr(fh, "peek") else b""
    stream = gzip.GzipFile(fileobj=fh, mode="rb") if head == _GZIP else fh
    total = 0
    try:
        with tarfile.open(fileobj=_BoundedReader(stream, budget), mode="r|", tarinfo=SafeTarInfo) as layer:
            for entry in layer:
                total += max(entry.size, 0)
                if total > budget:
                    raise _StreamBudgetExceeded
    except _StreamBudgetExceeded:
        raise ImageArchiveInvalid(f"the image unpacks to more than {budget} bytes", member=member) from None
    except SubmissionArchiveInvalid as exc:
        raise ImageArchiveInvalid(f"in a layer: {exc.problem}", member=member) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ImageArchiveInvalid(f"not a readable layer ({exc})", member=member) from None
    return total


def _scan(path: Path, *, max_unpacked: int, max_members: int) -> _Scan:
    scan = _Scan()
    limits = ArchiveLimits(max_files=max_members)
    current = None
    try:
        raw, tar = _open(path, max_unpacked + (max_members + 16) * 3 * 512 + (1 << 20))
        with raw, tar:
            for member in tar:
                current = member.name
                if len(scan.members) >= max_members:
                    raise ImageArchiveInvalid(f"more than {max_members} members")
                name = _clean_name(member.name, limits)
                if name is None:
                    continue
                if name in scan.members:
                    raise ImageArchiveInvalid("the name appears twice", member=member.name)
                if member.issym():
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                    if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                        raise ImageArchiveInvalid("a link pointing outside the archive", member=member.name)
                elif member.islnk():
                    target = _clean_name(member.linkname, limits)
                    if target not in scan.members or not scan.members[target].isreg():
                        raise ImageArchiveInvalid("a hard link to no earlier file", member=member.name)
                elif not (member.isreg() or member.isdir()):
                    raise ImageArchiveInvalid("a device or special file", member=member.name)
                scan.members[name] = member
                if not member.isreg():
                    continue
                if name == "manifest.json":
                    scan.manifest = _read_json(tar, member)
                elif name == "index.json":
                    scan.index = _read_json(tar, member)
                elif name.endswith("/layer.tar") or name.startswith("blobs/"):
                    fh = tar.extractfile(member)
                    assert fh is not None
                    peek = io.BufferedReader(fh, buffer_size=1 << 16)  # type: ignore[arg-type]
                    head = peek.peek(512)[:512]
                    is_layer = head[:2] == _GZIP or (len(head) >= 262 and head[257:262] == b"ustar")
                    if name.endswith("/layer.tar") and not is_layer and member.size:
                        raise ImageArchiveInvalid("not a tar layer", member=member.name)
                    if is_layer:
                        left = max_unpacked - scan.layer_bytes
                        scan.layer_bytes += _measure_layer(peek, member.name, left)
    except _StreamBudgetExceeded:
        raise ImageArchiveInvalid(f"the archive unpacks to more than {max_unpacked} bytes", member=current) from None
    except SubmissionArchiveInvalid as exc:
        if isinstance(exc, ImageArchiveInvalid):
            raise
        raise ImageArchiveInvalid(exc.problem, member=exc.member) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ImageArchiveInvalid(f"the archive is damaged ({exc})", member=current) from None
    return scan


def _check_manifest(scan: _Scan, max_layers: int) -> None:
    manifest = scan.manifest
    if manifest is None:
        raise ImageArchiveInvalid("no manifest.json: not a `docker save` archive")
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise ImageArchiveInvalid("must describe exactly one image (save one image per archive)", member="manifest.json")
    entry = manifest[0]
    config, layers = entry.get("Config"), entry.get("Layers")
    if not isinstance(config, str) or _safe_member(config) not in scan.members:
        raise ImageArchiveInvalid("'Config' names no file of the archive", member="manifest.json")
    if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
        raise ImageArchiveInvalid("'Layers' must be a list of file names", member="manifest.json")
    if len(layers) > max_layers:
        raise ImageArchiveInvalid(f"{len(layers)} layers; at most {max_layers} are allowed", member="manifest.json")
    for layer in layers:
        if _safe_member(layer) not in scan.members:
            raise ImageArchiveInvalid(f"layer {layer} is not in the archive", member="manifest.json")


def _safe_member(name: str) -> str | None:
    try:
        return _clean_name(name, ArchiveLimits())
    except SubmissionArchiveInvalid:
        return None


def _untagged(scan: _Scan) -> dict[str, bytes]:
    """Replacement contents that carry no tag the engine would apply."""
    replaced = {}
    manifest = [dict(entry, RepoTags=None) for entry in scan.manifest or []]
    replaced["manifest.json"] = json.dumps(manifest).encode()
    if scan.index is not None:
        index = dict(scan.index)
        cleaned = []
        for descriptor in index.get("manifests") or []:
            if isinstance(descriptor, dict):
                annotations = {
                    k: v
                    for k, v in (descriptor.get("annotations") or {}).items()
                    if k not in ("io.containerd.image.name", "org.opencontainers.image.ref.name")
                }
                descriptor = {**descriptor, "annotations": annotations}
            cleaned.append(descriptor)
        index["manifests"] = cleaned
        replaced["index.json"] = json.dumps(index).encode()
    return replaced


def _rewrite(path: Path, scan: _Scan, out: Path, budget: int) -> None:
    replaced = _untagged(scan)
    raw, tar = _open(path, budget)
    with raw, tar, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dest:
        for member in tar:
            name = _clean_name(member.name, ArchiveLimits(max_files=len(scan.members) + 1))
            if name is None or name == "repositories":  # legacy tag file: dropped
                continue
            info = tarfile.TarInfo(name + ("/" if member.isdir() else ""))
            info.type, info.mode, info.mtime = member.type, member.mode & 0o755, member.mtime
            if member.islnk():
                info.linkname = _clean_name(member.linkname, ArchiveLimits()) or ""
            elif member.issym():
                info.linkname = member.linkname
            if name in replaced:
                data = replaced[name]
                info.size = len(data)
                dest.addfile(info, io.BytesIO(data))
            elif member.isreg():
                info.size = member.size
                dest.addfile(info, tar.extractfile(member))
            else:
                dest.addfile(info)


def _tag_for(label: str | None) -> str:
    tag = _TAG_RE.sub("-", (label or uuid.uuid4().hex).lower()).strip(".-")[:128]
    return tag or uuid.uuid4().hex


def load_image_archive(
    path: Path | str,
    *,
    max_bytes: int = 2 * 1024**3,
    max_layers: int = 64,
    max_unpacked_bytes: int | None = None,
    max_members: int = 10_000,
    label: str | None = None,
    client=None,
    work_dir: Path | str | None = None,
) -> str:
    """Check and load a ``docker save`` archive; return the image id.

    The image is tagged ``anomed-arena-submission:<label>`` (a random label by default) and
    carries no other tag from the archive. ``max_bytes`` bounds the archive file,
    ``max_unpacked_bytes`` (default 4 × ``max_bytes``) what its layers unpack to. The rewritten
    copy is made in ``work_dir`` (default: the system's temporary directory).
    Raises :class:`ImageArchiveInvalid` for a refused archive.
    """
    from .docker_backend import client_from_env

    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageArchiveInvalid(f"the image archive is {size} bytes; at most {max_bytes} are allowed")
    max_unpacked = max_unpacked_bytes if max_unpacked_bytes is not None else 4 * max_bytes
    scan = _scan(path, max_unpacked=max_unpacked, max_members=max_members)
    _check_manifest(scan, max_layers)
    client = client or client_from_env(timeout=600)
    with tempfile.TemporaryDirectory(prefix="arena-image-", dir=work_dir) as tmp:
        clean = Path(tmp) / "image.tar"
        _rewrite(path, scan, clean, max_unpacked + (max_members + 16) * 3 * 512 + (1 << 20))
        with open(clean, "rb") as fh:
            images = client.images.load(fh)
    if len(images) != 1:
        # Loaded but ambiguous: untag nothing (nothing was tagged), report it.
        raise ImageArchiveInvalid(f"the archive loaded {len(images)} images; exactly one is expected")
    image = images[0]
    image.tag(SUBMISSION_REPOSITORY, tag=_tag_for(label))
    return image.id


def remove_image(image_id: str, *, label: str | None = None, client=None) -> None:
    """Remove the submission tags of ``image_id`` (only ``label``'s, when given).

    Only tags this module set are removed, never the image by force: an upload that happens
    to be byte-identical to another image (the runtime image, say) leaves that image alone,
    and the engine deletes the image itself when its last tag goes.
    """
    import docker.errors

    from .docker_backend import client_from_env

    client = client or client_from_env()
    try:
        image = client.images.get(image_id)
    except docker.errors.ImageNotFound:
        return
    wanted = f"{SUBMISSION_REPOSITORY}:{_tag_for(label)}" if label else None
    for tag in image.tags:
        if tag.startswith(SUBMISSION_REPOSITORY + ":") and (wanted is None or tag == wanted):
            try:
                client.images.remove(tag)
            except docker.errors.ImageNotFound:
                pass
