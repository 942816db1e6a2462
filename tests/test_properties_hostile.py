"""Property-based (issue 10): hostile values anywhere in a build (huge numbers, control characters, Jinja,
deep nesting, YAML aliases) and hostile --what-if specs go through the whole inventory -> preflight path:
exit 0, 1 or 2 only, no traceback, one escaped line on stderr for exit 2, JSON that validates against
docs/preflight.schema.json on stdout otherwise, and a bounded time."""

from __future__ import annotations

import copy
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from clirun import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = yaml.safe_load((ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text())
VALIDATOR = Draft202012Validator(json.loads((ROOT / "docs" / "preflight.schema.json").read_text()))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECONDS = 20
HUGE = re.compile(r"'?<<HUGE:(\d+)>>'?")

# Where a hostile value lands in the reference host's variables.
PATHS = [("hardware", "gpus", 0, "model"), ("hardware", "gpus", 0, "count"), ("hardware", "gpus", 0, "watts"),
         ("hardware", "gpus", 0, "vram_gb"), ("hardware", "gpus", 0, "power_limit_w"), ("hardware", "gpus"),
         ("hardware", "psu", "watts"), ("hardware", "psu", "efficiency"), ("hardware", "memory", "gb"),
         ("hardware", "cpu", "model"), ("hardware", "motherboard", "gpu_slots"), ("hardware", "notes"),
         ("hardware", "storage", 0, "interface"), ("power", "price_per_kwh"), ("power", "currency"),
         ("os", "release"), ("os", "distribution"), ("stack",), ("hardware",)]

text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030), max_size=60)
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**400), 10**400), st.floats(), text,
    st.integers(300, 6000).map(lambda n: f"<<HUGE:{n}>>"),   # an integer of n digits, written by hand
    st.sampled_from(["\x1b[2J\x1b[H", "RTX 2070\nbox2  OK\n  OK   psu_headroom  all good", "{{ 1 }}",
                     "{{ undefined_variable }}", "{% for %}", "{{ 'x' * 3 }}", "\u2028", "\x9b2J", "\x00"]),
)
nested = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(text, inner, max_size=4), max_leaves=12)
deep = st.integers(1, 150).map(lambda depth: _deep(depth))
# Shared references: yaml.safe_dump writes them as anchors and aliases (a small alias "bomb" when deep).
aliased = st.tuples(nested, st.integers(1, 9), st.integers(1, 7)).map(lambda t: _aliases(*t))
hostile = st.one_of(scalar, nested, deep, aliased)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _aliases(leaf: Any, width: int, levels: int) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value] * width
    return value


def _put(variables: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = variables
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _check(code: int, out: str, err: str, elapsed: float) -> None:
    assert elapsed < SECONDS
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "unexpected error" not in err, err
    assert not any(ord(ch) < 32 and ch != "\n" for ch in err), "a raw control character on stderr"
    if code == 2:
        assert out == "" and err.count("\n") == 1 and err.startswith("preflight: "), err
    else:
        errors = list(VALIDATOR.iter_errors(json.loads(out)))
        assert errors == [], errors[0].message


@SETTINGS
@given(st.sampled_from(PATHS), hostile)
def test_a_hostile_value_anywhere_in_a_build_is_a_report_or_one_line(path: tuple[Any, ...],
                                                                     value: Any) -> None:
    variables = copy.deepcopy(REFERENCE)
    _put(variables, path, value)
    document = yaml.safe_dump(variables, allow_unicode=True, width=1 << 20)
    document = HUGE.sub(lambda m: "9" * int(m.group(1)), document)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "host_vars").mkdir()
        (Path(tmp) / "host_vars" / "box1.yml").write_text(document)
        (Path(tmp) / "hosts").write_text("box1\n")
        start = time.monotonic()
        code, out, err = run_cli(["-i", str(Path(tmp) / "hosts"), "--format", "json"])
    _check(code, out, err, time.monotonic() - start)


@SETTINGS
@given(st.sampled_from(["gpus=", "psu=", "memory=", "gpu=", "ram=", ""]),
       st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2030), max_size=1200)
       | st.tuples(st.sampled_from(["1300", "2x RTX 2070", "64", "RTX 2070 limit", "@"]),
                   st.integers(0, 1500), st.sampled_from(["!", "x", "=x", "W", ""]))
       .map(lambda t: t[0] + " " * t[1] + t[2]))
def test_a_hostile_what_if_spec_is_a_document_or_one_line(key: str, value: str) -> None:
    start = time.monotonic()
    code, out, err = run_cli(["-i", str(ROOT / "inventory"), "--limit", "deep-al", "--format", "json",
                              "--what-if", key + value])
    _check(code, out, err, time.monotonic() - start)
