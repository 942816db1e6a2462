#!/usr/bin/env python3
"""Write a host's hardware declaration from what dlrig detects (see docs/init.md).

    scripts/init.py [--host NAME] [--connection local|ssh ADDRESS] [--output PATH] [--update] [--no-input]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from _bootstrap import into_controller_venv  # noqa: E402  (scripts/_bootstrap.py)

into_controller_venv(__file__, "yaml", "PyYAML", "bin/dlrig init")

from dlrig.init.cli import main  # noqa: E402

sys.exit(main())
