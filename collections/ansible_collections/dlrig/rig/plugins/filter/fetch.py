# dlrig.rig.fetch_failure: one message for a failed download (what, from where, which variable, why),
# instead of the raw `urlopen error` of get_url or apt's fetch lines. The classification is shared with
# the python_env module: plugins/module_utils/fetch_error.py.
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.dlrig.rig.plugins.module_utils.fetch_error import classify, describe, result_text


def fetch_failure(result: Any, url: str, variable: str, what: str, known_only: bool = False) -> str:
    """The message; with known_only, empty when no download cause is recognised (a resolver conflict)."""
    text = result_text(result)
    if known_only and not classify(text)[0]:
        return ""
    return describe(text, str(url or ""), str(variable), str(what))


class FilterModule:
    """dlrig's filter for failed downloads."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"fetch_failure": fetch_failure}
