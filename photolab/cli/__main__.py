"""``python -m photolab.cli ...`` runs photolab-cli."""

import sys

from photolab.cli import main

sys.exit(main())
