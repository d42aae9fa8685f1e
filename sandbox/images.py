"""Image submissions: checking and loading a ``docker save`` archive safely, and removing it afterwards.

``docker load`` trusts its input in ways a competition server cannot:

- it applies the archive's own tags (``manifest.json`` RepoTags, the legacy ``repositories``
  file, OCI ``index.json`` name annotations). An upload tagged
  ``anomed-arena-runtime:latest`` — or ``postgres:15`` on a host that runs one — would replace
  that image for everyone. So the archive is rewritten with every tag removed, and the loaded
  image is tagged only ``anomed-arena-submission:<label>``;
- it unpacks layers of any size, so the layers are measured before anything is loaded:
  their file sizes (what the engine will write) and their count are bounded;
- links in the outer archive must stay inside it.

And an archive the engine would refuse must be refused at upload, with the reason, rather
than fail every run later: :func:`check_image_archive` holds the archive to what the engine
checks when it loads one (the manifest names one image whose config and layers are in the
archive, every layer is a tar whose content digest is the one the config lists for it, every
OCI blob's content matches the digest in its name, every link leads to a member). Should the
engine still refuse the archive, :func:`load_image_archive` reports that as the archive's fault
(:class:`ImageArchiveInvalid`), not the platform's.

The checks read the archive twice (measure, then rewrite into a temporary file), which costs
disk I/O proportional to the upload but keeps the engine away from anything unchecked.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import re
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from .streams import (
    GZIP_MAGIC,
    ArchiveLimits,
    BoundedReader,
    ByteSource,
    SafeTarInfo,
    StreamBudgetExceeded,
    StreamDeadlinePassed,
    SubmissionArchiveInvalid,
    clean_name,
    is_tar_header,
    open_tar_stream,
)

SUBMISSION_REPOSITORY = "anomed-arena-submission"
_MAX_JSON = 1 << 20
_MAX_KEPT = 16 << 20  # JSON files kept from one scan (a config may come after the manifest)
_TAG_RE = re.compile(r"[^a-z0-9_.-]")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 16


class ImageArchiveInvalid(SubmissionArchiveInvalid):
    """The image archive is refused; the message names the member and the problem."""


@dataclass
class _Blob:
    """What the scan learned of one regular member."""

    digest: str | None = None  # sha256 of its bytes, for layers and blobs
    diff_id: str | None = None  # sha256 of the uncompressed tar, for a layer
    data: bytes | None = None  # the content of a small JSON file (a config, maybe)


@dataclass
class _Scan:
    members: dict[str, tarfile.TarInfo] = field(default_factory=dict)
    blobs: dict[str, _Blob] = field(default_factory=dict)
    manifest: list | None = None
    index: dict | None = None
    layer_bytes: int = 0
    kept_bytes: int = 0


class _Hashing(io.RawIOBase):
    """Passes reads through and keeps the sha256 of everything read."""

    def __init__(self, inner):
        self._inner = inner
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        self.sha.update(data)
        buffer[: len(data)] = data
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def _drain(stream) -> None:
    while stream.read(_CHUNK):
        pass


def _read_json(tar: tarfile.TarFile, member: tarfile.TarInfo):
    if member.size > _MAX_JSON:
        raise ImageArchiveInvalid("larger than 1 MiB", member=member.name)
    fh = tar.extractfile(member)
    assert fh is not None
    try:
        return json.loads(fh.read(_MAX_JSON + 1))
    except ValueError as exc:
        raise ImageArchiveInvalid(f"not valid JSON ({exc})", member=member.name) from None


def _measure_layer(fh, member: str, budget: int, max_members: int, deadline: float) -> tuple[int, str]:
    """(total size of the files a layer holds, sha256 of its uncompressed tar), read from its
    (maybe gzip) tar stream. Entry sizes are claims: the layer is refused as soon as they add
    up to more than ``budget``, before the bodies are read."""
    head = fh.peek(2)[:2] if hasattr(fh, "peek") else b""
    stream = gzip.GzipFile(fileobj=fh, mode="rb") if head == GZIP_MAGIC else fh
    content = _Hashing(stream)
    total = 0
    try:
        # _Hashing reads whole chunks (a raw stream's read() is typed as possibly None).
        bounded = BoundedReader(cast(ByteSource, content), ArchiveLimits(max_bytes=budget).stream_budget(max_members), deadline=deadline)
        with tarfile.open(fileobj=bounded, mode="r|", tarinfo=SafeTarInfo) as layer:
            for entry in layer:
                total += max(entry.size, 0)
                if total > budget:
                    raise StreamBudgetExceeded
                _check_mount_point(entry, member)
        _drain(bounded)  # the end-of-archive blocks count in the digest too
    except StreamBudgetExceeded:
        raise ImageArchiveInvalid(f"the image unpacks to more than {budget} bytes", member=member) from None
    except SubmissionArchiveInvalid as exc:
        raise ImageArchiveInvalid(f"in a layer: {exc.problem}", member=member) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ImageArchiveInvalid(f"not a readable layer ({exc})", member=member) from None
    return total, content.digest()


# Where every sandbox mounts something: the image must leave a folder (or nothing) there, or
# the engine refuses to start its container.
_MOUNT_FOLDERS = frozenset({"tmp", "output", "submission", "input"})


def _check_mount_point(entry: tarfile.TarInfo, layer: str) -> None:
    name = "/".join(p for p in entry.name.split("/") if p not in ("", "."))
    if name in _MOUNT_FOLDERS and not (entry.isdir() or entry.issym()):
        raise ImageArchiveInvalid(f"/{name} in the image is not a folder; the sandbox mounts a folder there",
                                  member=layer)
    if name == "etc/hosts" and entry.isdir():
        raise ImageArchiveInvalid("/etc/hosts in the image is not a file; the sandbox mounts a file there",
                                  member=layer)


def _scan(path: Path, *, max_unpacked: int, max_members: int, max_seconds: float) -> _Scan:  # noqa: C901 - one streaming pass over the archive, one branch per member kind and budget
    scan = _Scan()
    limits = ArchiveLimits(max_bytes=max_unpacked, max_files=max_members, max_seconds=max_seconds)
    deadline = time.monotonic() + max_seconds
    current = None
    try:
        raw, _, tar = open_tar_stream(path, limits.stream_budget(), deadline=deadline)
        with raw, tar:
            for member in tar:
                current = member.name
                if len(scan.members) >= max_members:
                    raise ImageArchiveInvalid(f"more than {max_members} members")
                name = clean_name(member.name, limits)
                if name is None:
                    continue
                if name in scan.members:
                    raise ImageArchiveInvalid("the name appears twice", member=member.name)
                if member.issym():
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                    if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                        raise ImageArchiveInvalid("a link pointing outside the archive", member=member.name)
                elif member.islnk():
                    linked = clean_name(member.linkname, limits)
                    if linked is None or linked not in scan.members or not scan.members[linked].isreg():
                        raise ImageArchiveInvalid("a hard link to no earlier file", member=member.name)
                elif not (member.isreg() or member.isdir()):
                    raise ImageArchiveInvalid("a device or special file", member=member.name)
                scan.members[name] = member
                if member.isreg():
                    _scan_file(scan, tar, member, name, max_unpacked, max_members, deadline)
    except StreamBudgetExceeded:
        raise ImageArchiveInvalid(f"the archive unpacks to more than {max_unpacked} bytes", member=current) from None
    except StreamDeadlinePassed:
        raise ImageArchiveInvalid(f"reading the archive took longer than the limit of {max_seconds:g} s",
                                  member=current) from None
    except SubmissionArchiveInvalid as exc:
        if isinstance(exc, ImageArchiveInvalid):
            raise
        raise ImageArchiveInvalid(exc.problem, member=exc.member) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ImageArchiveInvalid(f"the archive is damaged ({exc})", member=current) from None
    return scan


def _scan_file(scan: _Scan, tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, max_unpacked: int,
               max_members: int, deadline: float) -> None:
    if name == "manifest.json":
        scan.manifest = _read_json(tar, member)
        return
    if name == "index.json":
        scan.index = _read_json(tar, member)
        return
    is_blob = name.startswith("blobs/")
    if not (is_blob or name.endswith("/layer.tar") or ("/" not in name and name.endswith(".json"))):
        return  # VERSION, the legacy per-layer json, repositories, oci-layout: not needed
    fh = tar.extractfile(member)
    assert fh is not None
    raw = _Hashing(fh)
    peek = io.BufferedReader(raw, buffer_size=_CHUNK)
    head = peek.peek(512)[:512]
    blob = scan.blobs[name] = _Blob()
    empty_tar = len(head) == 512 and not head.strip(b"\0")  # a layer that changes nothing: end blocks only
    if head[:2] == GZIP_MAGIC or is_tar_header(head) or empty_tar:
        left = max_unpacked - scan.layer_bytes
        size, blob.diff_id = _measure_layer(peek, member.name, left, max_members, deadline)
        scan.layer_bytes += size
    elif name.endswith("/layer.tar") and member.size:
        raise ImageArchiveInvalid("not a tar layer", member=member.name)
    elif member.size <= _MAX_JSON and scan.kept_bytes + member.size <= _MAX_KEPT:
        blob.data = peek.read(_MAX_JSON + 1)
        scan.kept_bytes += len(blob.data)
    _drain(peek)
    blob.digest = raw.digest()


def _resolve(scan: _Scan, name: str | None) -> str | None:
    """The regular member ``name`` leads to, through symbolic and hard links; None if none."""
    for _ in range(16):
        if not name:
            return None
        member = scan.members.get(name)
        if member is None:
            return None
        if member.isreg():
            return name
        if member.issym():
            name = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        elif member.islnk():
            name = _safe_member(member.linkname)
        else:
            return None
    return None


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


def _check_links(scan: _Scan) -> None:
    for name, member in scan.members.items():
        if (member.issym() or member.islnk()) and _resolve(scan, name) is None:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
            if not (member.issym() and scan.members.get(target) is not None and scan.members[target].isdir()):
                raise ImageArchiveInvalid(f"a link to {member.linkname}, which is no file of the archive", member=name)


def _check_blobs(scan: _Scan) -> None:
    """An OCI blob's name is the digest of its content; the engine verifies it, so do we."""
    for name, blob in scan.blobs.items():
        parts = name.split("/")
        if len(parts) == 3 and parts[:2] == ["blobs", "sha256"] and blob.digest != "sha256:" + parts[2]:
            raise ImageArchiveInvalid(f"its content does not match the digest in its name (it is {blob.digest})",
                                      member=name)


def _check_config_and_layers(scan: _Scan) -> None:
    """The config's ``rootfs.diff_ids`` must list, in order, the digest of each layer's content."""
    entry = scan.manifest[0]  # type: ignore[index]
    config_name = _resolve(scan, _safe_member(entry["Config"]))
    blob = scan.blobs.get(config_name or "")
    if blob is None or blob.data is None:
        raise ImageArchiveInvalid("not an image config (a JSON file of at most 1 MiB)", member=entry["Config"])
    try:
        config = json.loads(blob.data)
    except ValueError as exc:
        raise ImageArchiveInvalid(f"not valid JSON ({exc})", member=entry["Config"]) from None
    if not isinstance(config, dict):
        raise ImageArchiveInvalid("not an image config (a JSON object)", member=entry["Config"])
    if config.get("os", "linux") != "linux":
        raise ImageArchiveInvalid(f"an image for {config.get('os')!r}; the sandbox runs Linux images",
                                  member=entry["Config"])
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and _DIGEST_RE.fullmatch(d) for d in diff_ids):
        raise ImageArchiveInvalid("'rootfs.diff_ids' must be a list of sha256 digests", member=entry["Config"])
    layers = entry["Layers"]
    if len(diff_ids) != len(layers):
        raise ImageArchiveInvalid(
            f"lists {len(layers)} layers, but the config {entry['Config']} lists {len(diff_ids)}",
            member="manifest.json",
        )
    for position, (layer, expected) in enumerate(zip(layers, diff_ids, strict=True), start=1):
        target = scan.blobs.get(_resolve(scan, _safe_member(layer)) or "")
        if target is None or target.diff_id is None:
            raise ImageArchiveInvalid("not a tar layer", member=layer)
        if target.diff_id != expected:
            raise ImageArchiveInvalid(
                f"layer {position} of manifest.json does not match the config: its content is {target.diff_id}, "
                f"the config expects {expected}",
                member=layer,
            )


def _safe_member(name: str) -> str | None:
    try:
        return clean_name(name, ArchiveLimits())
    except SubmissionArchiveInvalid:
        return None


def _checked(path: Path, *, max_bytes: int, max_layers: int, max_unpacked_bytes: int | None, max_members: int,
             max_seconds: float) -> tuple[_Scan, int]:
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageArchiveInvalid(f"the image archive is {size} bytes; at most {max_bytes} are allowed")
    max_unpacked = max_unpacked_bytes if max_unpacked_bytes is not None else 4 * max_bytes
    scan = _scan(path, max_unpacked=max_unpacked, max_members=max_members, max_seconds=max_seconds)
    _check_manifest(scan, max_layers)
    _check_links(scan)
    _check_blobs(scan)
    _check_config_and_layers(scan)
    return scan, max_unpacked


def check_image_archive(
    path: Path | str,
    *,
    max_bytes: int = 2 * 1024**3,
    max_layers: int = 64,
    max_unpacked_bytes: int | None = None,
    max_members: int = 10_000,
    max_seconds: float = 120.0,
) -> None:
    """Check a ``docker save`` archive without an engine; raise :class:`ImageArchiveInvalid`
    naming the member and the problem when :func:`load_image_archive` would refuse it.

    For upload checks: what passes here passes that function's checks too (with the same
    limits), and matches what the engine verifies when it loads the image.
    """
    _checked(Path(path), max_bytes=max_bytes, max_layers=max_layers, max_unpacked_bytes=max_unpacked_bytes,
             max_members=max_members, max_seconds=max_seconds)


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
    raw, _, tar = open_tar_stream(path, budget)
    with raw, tar, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dest:
        for member in tar:
            name = clean_name(member.name, ArchiveLimits(max_files=len(scan.members) + 1))
            if name is None or name == "repositories":  # legacy tag file: dropped
                continue
            info = tarfile.TarInfo(name + ("/" if member.isdir() else ""))
            info.type, info.mode, info.mtime = member.type, member.mode & 0o755, member.mtime
            if member.islnk():
                info.linkname = clean_name(member.linkname, ArchiveLimits()) or ""
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
    max_seconds: float = 120.0,
    label: str | None = None,
    client=None,
    work_dir: Path | str | None = None,
) -> str:
    """Check and load a ``docker save`` archive; return the image id.

    The image is tagged ``anomed-arena-submission:<label>`` (a random label by default) and
    carries no other tag from the archive. ``max_bytes`` bounds the archive file,
    ``max_unpacked_bytes`` (default 4 × ``max_bytes``) what its layers unpack to, ``max_seconds``
    the time one pass over it may take. The rewritten copy is made in ``work_dir`` (default:
    the system's temporary directory).

    Raises :class:`ImageArchiveInvalid` for a refused archive, including one the engine
    refuses to load (the archive's fault); an engine that cannot be reached, or that has no
    room left, raises the SDK's own error (the platform's fault).
    """
    import docker.errors

    from .docker_backend import client_from_env

    path = Path(path)
    scan, max_unpacked = _checked(path, max_bytes=max_bytes, max_layers=max_layers,
                                  max_unpacked_bytes=max_unpacked_bytes, max_members=max_members,
                                  max_seconds=max_seconds)
    client = client or client_from_env(timeout=600)
    with tempfile.TemporaryDirectory(prefix="arena-image-", dir=work_dir) as tmp:
        clean = Path(tmp) / "image.tar"
        _rewrite(path, scan, clean, ArchiveLimits(max_bytes=max_unpacked).stream_budget(max_members))
        with open(clean, "rb") as fh:
            try:
                images = client.images.load(fh)
            except docker.errors.ImageLoadError as exc:
                # The engine read the archive and refused it (a layer that does not match, a
                # config it cannot parse): the upload's fault. Running out of room is ours.
                if _platform_fault(str(exc)):
                    raise
                raise ImageArchiveInvalid(f"the engine refused to load the image: {_first_line(str(exc))}") from None
    if len(images) != 1:
        # Loaded but ambiguous: untag nothing (nothing was tagged), report it.
        raise ImageArchiveInvalid(f"the archive loaded {len(images)} images; exactly one is expected")
    image = images[0]
    image.tag(SUBMISSION_REPOSITORY, tag=_tag_for(label))
    return image.id


_PLATFORM_FAULTS = ("no space left on device", "input/output error", "read-only file system",
                    "too many open files", "cannot allocate memory")


def _platform_fault(message: str) -> bool:
    lowered = message.lower()
    return any(fault in lowered for fault in _PLATFORM_FAULTS)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0][:300] if message.strip() else "no reason given"


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
