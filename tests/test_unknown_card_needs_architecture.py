"""A card the catalogue lacks gets no stack until its architecture is declared (issue 19, finding 2: a
GTX 980 Ti with only watts and vram_gb resolved driver 595 / CUDA 13.2, which cannot run Maxwell)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from clirun import run_cli

from dlrig.plan.parse import architecture_names

CARD = {"model": "GeForce GTX 980 Ti", "watts": 250, "vram_gb": 6}


def _inventory(tmp_path: Path, gpu: dict) -> str:
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"old-box": {
        "os": {"distribution": "Ubuntu", "release": "22.04"},
        "hardware": {"gpus": [gpu]}}}}}))
    return str(path)


def _stack(out: str) -> dict:
    return next(c for c in json.loads(out)["hosts"][0]["checks"] if c["id"] == "stack")


def test_without_arch_the_stack_is_refused_and_the_values_are_listed(tmp_path: Path) -> None:
    code, out, _ = run_cli(["-i", _inventory(tmp_path, CARD), "--format", "json"])
    stack = _stack(out)
    assert code == 1 and stack["status"] == "fail"
    assert stack["driver"] is None and stack["cuda"] is None and stack["versions"]["driver"] is None
    assert "hardware.gpus[0].arch" in stack["message"]
    assert ", ".join(architecture_names()) in stack["message"]


def test_with_arch_the_stack_runs_the_card(tmp_path: Path) -> None:
    code, out, err = run_cli(["-i", _inventory(tmp_path, {**CARD, "arch": "Maxwell"}), "--format", "json"])
    stack = _stack(out)
    assert code == 0, err
    assert (stack["status"], stack["driver"], stack["cuda"]) == ("ok", "580", "12.9")


def test_the_missing_figures_error_asks_for_arch_too(tmp_path: Path) -> None:
    code, out, err = run_cli(["-i", _inventory(tmp_path, {"model": "GeForce GTX 980 Ti"})])
    assert code == 2 and not out
    assert "give its watts, vram_gb and arch" in err and "Maxwell, Pascal" in err


def test_architecture_names_are_the_matrix_generations_oldest_first() -> None:
    names = architecture_names()
    assert names[0] == "Maxwell" and "Turing" in names and "Blackwell" in names
