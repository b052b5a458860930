"""Test set-up: Qt runs offscreen, and the shared fixtures live in tests/utils."""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PHOTOLAB_LOG_DIR"] = tempfile.mkdtemp(prefix="photolab-test-log-")  # photolab-cli's log, not the user's
sys.path.insert(0, str(Path(__file__).resolve().parent))
