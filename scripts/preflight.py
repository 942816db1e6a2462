#!/usr/bin/env python3
"""Check the declared builds of the inventory before anything runs (see docs/preflight.md).

    scripts/preflight.py [-i INVENTORY] [--limit PATTERN] [--format text|json] [--strict]
                         [--live] [--what-if "gpus=2x GeForce RTX 2080"] ...
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))

from _bootstrap import into_controller_venv  # noqa: E402  (scripts/_bootstrap.py)

into_controller_venv(__file__, "ansible", "Ansible", "bin/dlrig preflight")

from dlrig.cli import main  # noqa: E402

sys.exit(main())
