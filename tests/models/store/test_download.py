"""Resumable downloads against a loopback HTTP server (127.0.0.1 only): resume, restart, checksums, cancel."""

import hashlib
import os

import pytest

from photolab.jobs import Job, JobState
from photolab.models.store.download import (CHUNK_SIZE, ChecksumMismatchError, DownloadError, download, file_name_for,
                                            part_path)

from tests.models.store_utils import Resource, files_in, loopback_server

PAYLOAD = os.urandom(3 * CHUNK_SIZE + 12345)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def test_complete_download_is_verified_and_reported(tmp_path):
    reports = []

    def work(context):
        return download(server.url("w/model.safetensors"), tmp_path, expected_sha256=DIGEST, context=context)

    with loopback_server({"w/model.safetensors": Resource(PAYLOAD)}) as server:
        job = Job(work)
        job.on_progress(lambda fraction, message: reports.append((fraction, message)))
        result = job.run()
    assert job.state is JobState.FINISHED, job.error_message
    assert result.path.read_bytes() == PAYLOAD
    assert result.sha256 == DIGEST and result.size == len(PAYLOAD) and result.resumed_from == 0
    assert result.path.name.endswith("-model.safetensors")
    assert files_in(tmp_path) == [result.path.name]  # no .part, no sidecar left
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Downloading model.safetensors" in m for _, m in reports)


def test_truncated_download_keeps_part_and_resumes_with_range(tmp_path):
    cut = CHUNK_SIZE + 1000
    resource = Resource(PAYLOAD, truncate_at=cut)
    with loopback_server({"m.pth": resource}) as server:
        url = server.url("m.pth")
        with pytest.raises(DownloadError, match=rf"truncated: {cut} of {len(PAYLOAD)} bytes.*run it again to resume"):
            download(url, tmp_path, expected_sha256=DIGEST)
        part = part_path(url, tmp_path)
        assert part.stat().st_size == cut
        resource.truncate_at = None
        result = download(url, tmp_path, expected_sha256=DIGEST)
        assert server.requests[-1]["range"] == f"bytes={cut}-"
        assert server.requests[-1]["if_range"] == '"v1"'
    assert result.resumed_from == cut
    assert result.path.read_bytes() == PAYLOAD
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(tmp_path):
    resource = Resource(PAYLOAD, truncate_at=CHUNK_SIZE)
    with loopback_server({"m.pth": resource}) as server:
        with pytest.raises(DownloadError):
            download(server.url("m.pth"), tmp_path)
        resource.truncate_at, resource.ignore_range = None, True
        result = download(server.url("m.pth"), tmp_path, expected_sha256=DIGEST)
    assert result.resumed_from == 0 and result.path.read_bytes() == PAYLOAD


def test_file_changed_on_server_is_fetched_anew_not_spliced(tmp_path):
    new_payload = os.urandom(len(PAYLOAD))
    resource = Resource(PAYLOAD, truncate_at=CHUNK_SIZE)
    with loopback_server({"m.pth": resource}) as server:
        with pytest.raises(DownloadError):
            download(server.url("m.pth"), tmp_path)
        resource.data, resource.etag, resource.truncate_at = new_payload, '"v2"', None
        result = download(server.url("m.pth"), tmp_path)
        assert server.requests[-1]["if_range"] == '"v1"'  # asked for a range only if unchanged
    assert result.resumed_from == 0
    assert result.path.read_bytes() == new_payload


def test_checksum_mismatch_deletes_everything(tmp_path):
    with loopback_server({"m.pth": Resource(PAYLOAD)}) as server:
        with pytest.raises(ChecksumMismatchError, match=f"expected SHA-256 {'0' * 64}, got {DIGEST}"):
            download(server.url("m.pth"), tmp_path, expected_sha256="0" * 64)
        with pytest.raises(ChecksumMismatchError, match=r"expected SHA-256 deadbeef\.\.\."):
            download(server.url("m.pth"), tmp_path, expected_sha256="deadbeef")
        prefix = download(server.url("m.pth"), tmp_path, expected_sha256=DIGEST[:8].upper())
    assert files_in(tmp_path) == [prefix.path.name]


def test_cancel_keeps_the_partial_file_for_resuming(tmp_path):
    with loopback_server({"big.bin": Resource(PAYLOAD, chunk_delay=0.01)}) as server:
        url = server.url("big.bin")
        job = Job(lambda context: download(url, tmp_path, context=context))
        job.on_progress(lambda fraction, message: job.cancel())
        job.run()
        assert job.state is JobState.CANCELLED
        size = part_path(url, tmp_path).stat().st_size
        assert 0 < size < len(PAYLOAD)
        result = download(url, tmp_path, expected_sha256=DIGEST)
    assert result.resumed_from == size and result.path.read_bytes() == PAYLOAD


def test_already_complete_part_is_accepted_after_416(tmp_path):
    resource = Resource(PAYLOAD, truncate_at=len(PAYLOAD))
    with loopback_server({"m.pth": resource}) as server:
        url = server.url("m.pth")
        part = part_path(url, tmp_path)
        # simulate a crash after the last byte arrived but before the rename
        download(url, tmp_path).path.rename(part)
        (part.with_name(part.name + ".json")).write_text(
            f'{{"url": "{url}", "etag": "\\"v1\\"", "last_modified": null, "total": {len(PAYLOAD)}}}')
        result = download(url, tmp_path, expected_sha256=DIGEST)
        assert server.requests[-1]["range"] == f"bytes={len(PAYLOAD)}-"
    assert result.path.read_bytes() == PAYLOAD


@pytest.mark.parametrize("url, message", [
    ("missing.pth", "answered 404"),
    ("file:///etc/passwd", "only http:// and https://"),
])
def test_unusable_sources_fail_clearly(tmp_path, url, message):
    with loopback_server() as server:
        full = url if "://" in url else server.url(url)
        with pytest.raises(DownloadError, match=message):
            download(full, tmp_path)
    assert not list(tmp_path.glob("*.part"))


def test_unreachable_server_and_bad_hash_spec(tmp_path):
    with loopback_server() as server:
        dead = server.base_url
    with pytest.raises(DownloadError, match="cannot connect"):
        download(f"{dead}/m.pth", tmp_path, timeout=2)
    with pytest.raises(DownloadError, match="not a SHA-256"):
        download(f"{dead}/m.pth", tmp_path, expected_sha256="xyz")


def test_file_names_from_urls_are_safe():
    assert file_name_for("https://h/a/b/seresnet18-4bb0ce65.pth?x=1") == "seresnet18-4bb0ce65.pth"
    assert file_name_for("https://h/../../etc/pa%2Fss wd") == "pa_ss_wd"
    assert file_name_for("https://h/") == "download"
    assert file_name_for("https://h/..") == "download"
