#!/usr/bin/env python3
"""Write a host's hardware declaration from what dlrig detects (see docs/init.md).

    scripts/init.py [--host NAME] [--connection local|ssh ADDRESS] [--output PATH] [--update] [--no-input]
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    import yaml  # noqa: F401
except ImportError:  # as scripts/preflight.py: into the controller's .venv, else a hint
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parent.parent.resolve():
        os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.stderr.write("init: PyYAML is not installed for this Python; run `bin/dlrig init` "
                     "(it creates the controller's .venv on first use)\n")
    sys.exit(2)

from dlrig.init.cli import main  # noqa: E402

sys.exit(main())
