#!/usr/bin/env python3
"""Check the declared builds of the inventory before anything runs (see docs/preflight.md).

    scripts/preflight.py [-i INVENTORY] [--limit PATTERN] [--format text|json] [--strict]
                         [--live] [--what-if "gpus=2x GeForce RTX 2080"] ...
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))

try:
    import ansible  # noqa: F401
except ImportError:
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parent.parent.resolve():
        os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.stderr.write("preflight: Ansible is not installed for this Python; run `bin/dlrig preflight` "
                     "(it creates the controller's .venv on first use)\n")
    sys.exit(2)

from dlrig.cli import main  # noqa: E402

sys.exit(main())
