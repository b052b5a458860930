#!/usr/bin/env python3
"""Set up PhotoLab on a machine that has only Python, then launch it or run the tests.

    python3 packaging/bootstrap.py run [PHOTO...]   # the app, with the bundled sample photo by default
    python3 packaging/bootstrap.py test [PYTEST ARGS...]

It installs the Qt system libraries with apt-get when they are missing (Debian/Ubuntu, as root), makes a
virtual environment in .venv, installs PhotoLab into it in editable mode (a CPU build of PyTorch first), and
reinstalls only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
SAMPLE = ROOT / "resources" / "samples" / "picos-de-europa.dng"
TORCH_CPU = "torch==2.13.0"
# Shared libraries Qt's xcb/offscreen platforms load, and the Debian packages that provide them.
QT_SYSTEM_LIBRARIES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    install_system_libraries()
    install_python_packages()
    if command == "run":
        return subprocess.call([str(BIN / "photolab"), *(rest or [str(SAMPLE)])])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT, env=env)


def install_system_libraries() -> None:
    """apt-get the Qt runtime libraries that are missing (Linux with apt only; elsewhere Qt brings its own)."""
    if not sys.platform.startswith("linux") or not shutil.which("apt-get"):
        return
    try:
        known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return
    missing = sorted({package for library, package in QT_SYSTEM_LIBRARIES.items() if library not in known})
    if not missing:
        return
    if os.geteuid() != 0:
        print(f"PhotoLab needs these system packages: sudo apt-get install {' '.join(missing)}", file=sys.stderr)
        return
    print(f"Installing Qt system libraries: {' '.join(missing)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


def install_python_packages() -> None:
    """Create .venv and install PhotoLab with its test tools, unless pyproject.toml is unchanged since."""
    stamp = VENV / ".photolab-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and (BIN / "photolab").exists():
        return
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    has_torch = subprocess.run([str(PYTHON), "-c", "import torch"], capture_output=True).returncode == 0
    if not has_torch:
        print(f"Installing PyTorch ({TORCH_CPU}, CPU build)", flush=True)
        subprocess.run([*pip, TORCH_CPU], check=True)
    print("Installing PhotoLab and its dependencies", flush=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    stamp.write_text(wanted)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
