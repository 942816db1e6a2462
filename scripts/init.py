#!/usr/bin/env python3
"""Write a host's hardware declaration from what dlrig detects (see docs/init.md).

    scripts/init.py [--host NAME] [--connection local|ssh ADDRESS] [--output PATH] [--update] [--no-input]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlrig.init.cli import main  # noqa: E402

sys.exit(main())
