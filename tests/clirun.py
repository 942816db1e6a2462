"""Run the preflight CLI in-process (dlrig.cli.main) and capture what it prints."""

from __future__ import annotations

import io
from collections.abc import Sequence

from dlrig.cli import main


def run_cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of ``scripts/preflight.py ARGV``."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()
