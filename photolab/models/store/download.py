"""Resumable HTTP(S) downloads into a temporary folder, with progress, cancel and a SHA-256 check.

A download goes to ``<folder>/<key>-<file name>.part`` (``key`` is derived from the URL), with a small
``.part.json`` beside it recording the URL and the server's validator (ETag / Last-Modified). If the
``.part`` file is already there, the download resumes with ``Range: bytes=N-`` (and ``If-Range``, so a
changed file on the server is fetched anew rather than spliced); a server that ignores the range answers
200 and the download restarts from zero. A download that stops early (connection lost, cancelled) keeps
its ``.part`` file for the next attempt; one whose SHA-256 does not match is deleted, since resuming it
cannot help. Nothing is written outside ``folder``: the caller imports the finished file and removes it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from photolab import __version__
from photolab.core.errors import PhotoLabError
from photolab.models.store.card import sha256_file

CHUNK_SIZE = 1 << 18
_USER_AGENT = f"PhotoLab/{__version__} (model download)"
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


class DownloadError(PhotoLabError):
    """A download failed (unreachable, refused, interrupted); the message says whether a retry resumes."""


class ChecksumMismatchError(DownloadError):
    """The downloaded file's SHA-256 differs from the expected value; the file has been deleted."""


@dataclass(frozen=True)
class Downloaded:
    """A finished, verified download: the file (in the download folder), its SHA-256, its size, and
    how many bytes came from an earlier interrupted attempt."""

    path: Path
    sha256: str
    size: int
    resumed_from: int


def file_name_for(url: str) -> str:
    """A safe local file name from the last component of the URL's path ("download" when there is none)."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip(".")
    return name[:120] or "download"


def part_path(url: str, folder: str | Path, file_name: str | None = None) -> Path:
    """Where the (partial) download of ``url`` lives in ``folder``."""
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return Path(folder) / f"{key}-{file_name or file_name_for(url)}.part"


def check_sha256_spec(expected: str | None) -> str | None:
    """Normalise an expected SHA-256 (full 64 hex digits, or a prefix of at least 8 as torch.hub file names
    carry); ``DownloadError`` for anything else."""
    if expected is None or expected == "":
        return None
    text = expected.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", text):
        raise DownloadError(f"{expected!r} is not a SHA-256 (64 hex digits, or a prefix of at least 8)")
    return text


def download(url: str, folder: str | Path, *, expected_sha256: str | None = None, file_name: str | None = None,
             context=None, timeout: float = 30.0) -> Downloaded:
    """Download ``url`` into ``folder`` (resuming an earlier partial attempt) and verify it.

    ``expected_sha256`` may be the full hex digest or a prefix (>= 8 digits); on mismatch the file is
    deleted and :class:`ChecksumMismatchError` raised. ``context`` (a JobContext) receives progress and may
    cancel (the partial file is then kept for resuming). Returns the finished file, renamed without
    ``.part``; the caller moves or deletes it.
    """
    expected = check_sha256_spec(expected_sha256)
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http:// and https:// URLs can be downloaded")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    part = part_path(url, folder, file_name)
    with _locks_guard:
        lock = _locks.setdefault(part, threading.Lock())
    if not lock.acquire(blocking=False):
        raise DownloadError(f"{url}: is already being downloaded")
    try:
        resumed_from = _fetch(url, part, context, timeout)
        digest = sha256_file(part)
        if expected is not None and not digest.startswith(expected):
            _discard(part)
            raise ChecksumMismatchError(
                f"{url}: checksum mismatch: expected SHA-256 {expected}{'...' if len(expected) < 64 else ''}, "
                f"got {digest}; the download was deleted (the file on the server is not the one expected)")
        final = part.with_suffix("")
        os.replace(part, final)
        _meta_path(part).unlink(missing_ok=True)
        return Downloaded(final, digest, final.stat().st_size, resumed_from)
    finally:
        lock.release()


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta_path(part).unlink(missing_ok=True)


def _read_meta(part: Path, url: str) -> dict:
    try:
        meta = json.loads(_meta_path(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) and meta.get("url") == url else {}


def _fetch(url: str, part: Path, context, timeout: float) -> int:
    """Bring ``part`` to the complete file; return the byte offset the transfer resumed from."""
    meta = _read_meta(part, url)
    offset = part.stat().st_size if part.exists() and meta else 0
    if offset == 0:
        _discard(part)
    for attempt in range(2):
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"})
        validator = meta.get("etag") or meta.get("last_modified")
        if offset:
            request.add_header("Range", f"bytes={offset}-")
            if validator:
                request.add_header("If-Range", validator)
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset and meta.get("total") == offset:
                return offset  # the earlier attempt had already received everything
            if exc.code == 416 and attempt == 0:
                _discard(part)
                offset, meta = 0, {}
                continue
            raise DownloadError(f"{url}: the server answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"{url}: cannot connect ({reason})") from None
        with response:
            start = offset if response.status == 206 else 0
            if response.status == 206 and _content_range_start(response) != offset:
                if attempt == 0:
                    _discard(part)
                    offset, meta = 0, {}
                    continue
                raise DownloadError(f"{url}: the server sent an unexpected byte range")
            length = response.headers.get("Content-Length")
            total = start + int(length) if length and length.isdigit() else None
            meta = {"url": url, "etag": response.headers.get("ETag"),
                    "last_modified": response.headers.get("Last-Modified"), "total": total}
            _meta_path(part).write_text(json.dumps(meta), encoding="utf-8")
            _stream(response, part, start, total, url, context)
            return start
    raise DownloadError(f"{url}: the server does not resume downloads consistently")


def _content_range_start(response) -> int | None:
    match = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _stream(response, part: Path, start: int, total: int | None, url: str, context) -> None:
    received = start
    name = part.name[13:-5]
    last_report = 0.0
    try:
        with open(part, "r+b" if start else "wb") as handle:
            handle.truncate(start)
            handle.seek(start)
            while True:
                if context is not None:
                    context.check_cancelled()
                block = response.read(CHUNK_SIZE)
                if not block:
                    break
                handle.write(block)
                received += len(block)
                now = time.monotonic()
                if context is not None and (now - last_report > 0.1 or received == total):
                    last_report = now
                    fraction = received / total if total else 0.0
                    size = f"{received / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{received / 1e6:.1f} MB"
                    context.progress(fraction, f"Downloading {name}: {size}")
            handle.flush()
            os.fsync(handle.fileno())
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"{url}: the download was interrupted after {received} of "
                            f"{total if total is not None else 'unknown'} bytes ({exc}); "
                            f"run it again to resume") from None
    if total is not None and received != total:
        if received > total:
            _discard(part)
            raise DownloadError(f"{url}: the server sent {received} bytes but announced {total}; "
                                f"the download was deleted")
        raise DownloadError(f"{url}: the download is truncated: {received} of {total} bytes arrived; "
                            f"run it again to resume")
