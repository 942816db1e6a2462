"""The one number format of every output: ``250`` not ``250.0``, ``1.5`` as it is, ``-`` for nothing."""

from __future__ import annotations

from typing import Any


def whole(value: float | int, digits: int | None = None) -> int | float:
    """``value`` (rounded to ``digits`` when given) as an int when it is whole: JSON prints ``250``."""
    number = float(value) if digits is None else round(float(value), digits)
    return int(number) if number.is_integer() else number


def num(value: Any, missing: str = "-") -> str:
    """A figure for people: whole numbers without a decimal point, others as ``:g``; ``missing`` for None."""
    if value is None:
        return missing
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(whole(value)) if float(value).is_integer() else f"{value:g}"
