"""No silent skips in CI (issue 21).

Where the environment says ``CI=true`` (GitHub Actions, GitLab and most CI systems set it), a test that
skips fails instead, unless its node id matches a line of ``tests/skip-allowlist.txt``. Each line there is
an ``fnmatch`` pattern followed by ``# the reason``; a line without a reason is itself an error. Outside CI
skips stay skips, so a laptop without a GPU or a local mirror runs what it can.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest

ALLOWLIST = Path(__file__).with_name("skip-allowlist.txt")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def read_allowlist(path: Path = ALLOWLIST) -> list[str]:
    """The patterns of the allow-list; a pattern without its ``# reason`` is refused."""
    patterns = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if path.exists() else ():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, reason = line.partition("#")
        if not reason.strip():
            raise pytest.UsageError(f"{path.name}:{number}: {pattern.strip()!r} has no '# reason'")
        patterns.append(pattern.strip())
    return patterns


def allowed(nodeid: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(nodeid, p) for p in patterns)


def _refuse(report: pytest.TestReport | pytest.CollectReport) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true ({reason}); install what the test needs, or add "
        f"'{report.nodeid}  # why' to tests/{ALLOWLIST.name}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and in_ci()
        and not allowed(report.nodeid, item.config.stash[_PATTERNS])
    ):
        _refuse(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and not allowed(report.nodeid, collector.config.stash[_PATTERNS]):
        _refuse(report)


_PATTERNS = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_PATTERNS] = read_allowlist()
