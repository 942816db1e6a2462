"""Every JSON document the preflight prints validates against docs/preflight.schema.json (jsonschema from
PyPI): the plain report, --what-if and --live, for the shipped and the fixture inventories, and they share
one top-level shape (schema_version, mode, hosts[].checks and hosts[].summary)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from hwfixtures import CASES, facts
from jsonschema import Draft202012Validator

from dlrig import cli
from dlrig.cli import build_parser
from dlrig.upgrade.live import Detection

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "preflight.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
INVENTORIES = [str(ROOT / "inventory"), str(ROOT / "tests/fixtures/inventories/ini_dir/hosts"),
               str(ROOT / "tests/fixtures/inventories/yaml_dir/hosts.yml")]


def valid(document: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
    return document


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("extra", [[], ["--strict"]])
def test_every_report_validates(inventory: str, extra: list[str]) -> None:
    code, out, err = run_cli(["-i", inventory, "--format", "json", *extra])
    assert code in (0, 1), err
    document = valid(json.loads(out))
    assert document["mode"] == "plan" and document["schema_version"] == 2


@pytest.mark.parametrize("spec", [
    ["memory=64"], ["psu=1300 gold"], ["gpus=2x GeForce RTX 2080@225W"], ["gpus=4x RTX 2070 limit=150W"],
    ["gpus=8x GeForce RTX 3090", "psu=750"], ["gpus=1x RTX 2070 + 1x GeForce RTX 2080 Ti", "memory=128"],
])
@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_what_if_document_validates_with_the_planned_checks_on_top(spec: list[str],
                                                                         inventory: str) -> None:
    flags = [a for s in spec for a in ("--what-if", s)]
    code, out, err = run_cli(["-i", inventory, "--format", "json", *flags])
    if code == 2:   # a plan a fixture host cannot take (its memory has no watts): no document, one line
        assert inventory != INVENTORIES[0], err
        assert out == "" and err.count("\n") == 1
        return
    assert code in (0, 1), err
    document = valid(json.loads(out))
    assert document["mode"] == "what_if"
    for host in document["hosts"]:
        planned = host["planned"]
        if planned is not None:
            assert host["checks"] == planned["checks"] and host["summary"] == planned["summary"]
        else:
            assert host["checks"] == [] and host["summary"]["max_draw_w"] is None  # as in a plan report


def live_json(detections: dict[str, Detection]) -> dict[str, Any]:
    args = build_parser().parse_args(["--live", "--format", "json", "-i", INVENTORIES[0]])

    def detector(inventories: Any, pattern: Any, names: list[str], module_args: Any, become: Any) -> Any:
        return {name: detections.get(name, Detection(name, error="unreachable: test", unreachable=True))
                for name in names}

    out = io.StringIO()
    code = cli.run(args, out, detector=detector)
    assert code in (0, 1)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("case", CASES)
def test_every_live_document_validates(case: str) -> None:
    document = valid(live_json({"deep-al": Detection("deep-al", facts=facts(case))}))
    assert document["mode"] == "live"
    # The same host shape as a plan report: the declared build's summary beside the live checks.
    assert all(host["summary"]["max_draw_w"] == 416 for host in document["hosts"])


def test_a_live_document_with_failed_detection_validates() -> None:
    valid(live_json({"deep-al": Detection("deep-al", error="hardware detection failed: nvidia-smi hung")}))


def test_the_schema_refuses_the_old_what_if_shape() -> None:
    old = {"mode": "what-if", "what_if": ["memory=64"],
           "hosts": [{"name": "box", "verdict": "ok", "what_if": ["memory=64"], "changes": [],
                      "today": None, "planned": None}]}
    assert list(VALIDATOR.iter_errors(old))
    assert list(VALIDATOR.iter_errors({"hosts": []}))   # no schema_version, no mode
