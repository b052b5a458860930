"""Atomic file writing: write a temporary file beside the target, then rename it over the target.

A crash, a cancel or a full disk leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from photolab.core.errors import FileAccessError


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed to ``target``.

    On any exception (including cancellation) the temporary file is removed and the target untouched.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileAccessError(f"{target}: the folder {folder} does not exist")
    try:
        handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix,
                                                  dir=folder)
    except OSError as exc:
        raise FileAccessError(f"{target}: cannot write in {folder} ({exc.strerror or exc})") from exc
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        yield temporary
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(temporary, os.stat(target).st_mode & 0o777)
        else:
            with contextlib.suppress(OSError):
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise FileAccessError(f"{target}: cannot be written ({exc.strerror or exc})") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (fsynced before the rename)."""
    with atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
