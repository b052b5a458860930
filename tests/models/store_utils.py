"""Helpers for the model-manager tests: tiny weights files, a model store, a loopback HTTP server.

The HTTP server listens on 127.0.0.1 only (never the internet) and serves byte strings with what the
downloader relies on: Content-Length, ETag, ``Range`` (206) and ``If-Range``. It can also misbehave on
purpose: close the connection after N bytes while announcing the full length, ignore ``Range``, or answer
404.
"""

from __future__ import annotations

import http.server
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file

from photolab.models.archs.seresnet import create_model
from photolab.models.store.timm_import import LEGACY_RENAMES

TINY_ARCH = "seresnet18"
TINY_CLASSES = ("cat", "dog", "bird")


def tiny_model(seed: int = 0, num_classes: int = 3, arch: str = TINY_ARCH):
    """A randomly initialised classifier (BatchNorm statistics made non-trivial so the weights matter)."""
    torch.manual_seed(seed)
    model = create_model(arch, num_classes=num_classes)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def save_safetensors(model: torch.nn.Module, path: Path) -> Path:
    """The model's state_dict as a plain safetensors file (no PhotoLab metadata)."""
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def to_legacy_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our key names back to timm's legacy SENet names (the inverse of LEGACY_RENAMES)."""
    out = {}
    for key, value in state.items():
        for old, new in LEGACY_RENAMES:
            if old.startswith("."):
                key = key.replace(new, old, 1)
            elif key.startswith(new):
                key = old + key[len(new):]
        out[key] = value
    return out


def files_in(folder: Path) -> list[str]:
    """Names of every file below ``folder`` (sorted; empty when it does not exist)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@dataclass
class Resource:
    data: bytes
    etag: str = '"v1"'
    truncate_at: int | None = None  # close the connection after this many body bytes (full length announced)
    ignore_range: bool = False
    chunk_delay: float = 0.0


@dataclass
class LoopbackServer:
    base_url: str
    resources: dict[str, Resource]
    requests: list[dict] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


def _handler(server_state: LoopbackServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):  # noqa: N802 - http.server's naming
            server_state.requests.append({"path": self.path, "range": self.headers.get("Range"),
                                          "if_range": self.headers.get("If-Range")})
            resource = server_state.resources.get(self.path.lstrip("/"))
            if resource is None:
                self.send_error(404, "Not Found")
                return
            data, start = resource.data, 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if_range = self.headers.get("If-Range")
            if match and not resource.ignore_range and (if_range is None or if_range == resource.etag):
                start = int(match.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", resource.etag)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if resource.truncate_at is not None:
                body = body[:max(0, resource.truncate_at - start)]
                self.close_connection = True
            for offset in range(0, len(body), 1 << 16):
                self.wfile.write(body[offset:offset + (1 << 16)])
                if resource.chunk_delay:
                    threading.Event().wait(resource.chunk_delay)
            self.wfile.flush()

    return Handler


@contextmanager
def loopback_server(resources: dict[str, Resource] | None = None):
    """Serve ``resources`` (path -> Resource) on 127.0.0.1 in a thread for the duration of the block."""
    state = LoopbackServer("", dict(resources or {}))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
