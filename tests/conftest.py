"""Test set-up: Qt runs offscreen, and the shared fixtures live in tests/utils."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
