"""dlrig/envplan.py: a framework environment is rebuilt when the lock its role would install changes, kept
when it does not (issue 20: the TensorFlow lock names no system CUDA, so a driver downgrade that moves CUDA
13.2 -> 12.9 keeps that environment); and the kernel module flavour a driver change switches."""

from __future__ import annotations

from dlrig.upgrade.driver import change_lines
from dlrig.upgrade.envplan import decision_environments, environment_plans, flavour_line, lock_name

BEFORE = {"driver": "595", "driver_flavour": "open", "cuda": "13.2", "python": "3.10", "torch": "2.14.1",
          "torchvision": "0.29.1", "torch_cuda_variant": "cu132", "fastai": "2.8.12", "tensorflow": "2.21.0",
          "keras": "3.12.4"}
AFTER = {**BEFORE, "driver": "580", "driver_flavour": "proprietary", "cuda": "12.9",
         "torch_cuda_variant": "cu126"}


def _plans(before: dict, after: dict, gpus: bool = True) -> dict[str, tuple[str, list[str]]]:
    return {p.env: (p.action, p.changes) for p in environment_plans(before, after, gpus)}


def test_lock_names_are_the_roles_lock_names():
    assert lock_name("pytorch", BEFORE) == "py3.10-torch2.14.1-cu132-torchvision0.29.1-fastai2.8.12"
    assert lock_name("tensorflow", BEFORE) == "py3.10-tensorflow2.21.0-cuda-keras3.12.4"
    assert lock_name("tensorflow", BEFORE, gpus=False) == "py3.10-tensorflow2.21.0-cpu-keras3.12.4"
    assert lock_name("tensorflow", {**BEFORE, "keras": None}) is None
    assert lock_name("pytorch", {**BEFORE, "torch": "latest"}) is None  # not a version the lock accepts
    assert lock_name("jax", BEFORE) is None


def test_a_cuda_change_rebuilds_pytorch_and_keeps_tensorflow():
    assert _plans(BEFORE, AFTER) == {"pytorch": ("rebuilt", ["cu132 → cu126"]), "tensorflow": ("kept", [])}
    tf = environment_plans(BEFORE, AFTER)[1]
    assert tf.line() == "TensorFlow environment kept (same lock: py3.10-tensorflow2.21.0-cuda-keras3.12.4)"
    assert tf.lock_before == tf.lock_after


def test_a_tensorflow_or_python_change_rebuilds_tensorflow():
    plans = _plans(BEFORE, {**AFTER, "tensorflow": "2.20.0"})
    assert plans["tensorflow"] == ("rebuilt", ["tensorflow 2.21.0 → 2.20.0"])
    plans = _plans(BEFORE, {**AFTER, "python": "3.11"})
    assert plans["tensorflow"] == ("rebuilt", ["python 3.10 → 3.11"])
    assert plans["pytorch"] == ("rebuilt", ["python 3.10 → 3.11", "cu132 → cu126"])
    line = environment_plans(BEFORE, {**AFTER, "keras": "3.11.0"})[1].line()
    assert line == "TensorFlow environment rebuilt (keras 3.12.4 → 3.11.0)"


def test_nothing_changes_keeps_both():
    assert _plans(BEFORE, dict(BEFORE)) == {"pytorch": ("kept", []), "tensorflow": ("kept", [])}


def test_an_unnamed_lock_falls_back_to_the_lock_inputs_both_stacks_name():
    # No keras on either side: the TensorFlow lock cannot be named; its other inputs decide.
    before, after = {**BEFORE, "keras": None}, {**AFTER, "keras": None}
    assert _plans(before, after)["tensorflow"] == ("kept", [])
    assert _plans(before, {**after, "tensorflow": "2.20.0"})["tensorflow"] == (
        "rebuilt", ["tensorflow 2.21.0 → 2.20.0"])
    # A stack known on one side only: no input differs that both name, so nothing is claimed rebuilt.
    assert _plans({"cuda": "13.2"}, AFTER) == {"pytorch": ("kept", []), "tensorflow": ("kept", [])}


def test_the_flavour_line():
    assert flavour_line(BEFORE, AFTER) == "kernel modules open → proprietary"
    assert flavour_line(AFTER, BEFORE) == "kernel modules proprietary → open"
    assert flavour_line(BEFORE, {**AFTER, "driver_flavour": "open"}) is None
    assert flavour_line({}, AFTER) is None


def _decision(action: str, before: dict, after: dict) -> dict:
    return {"action": action, "installed_branch": before.get("driver"), "branch": after.get("driver"),
            "before": before, "stack": after,
            "forced_by": ["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"], "consent": None}


def test_change_lines_say_kept_or_rebuilt_from_the_lock():
    lines = change_lines(_decision("downgrade", BEFORE, AFTER))
    assert lines[1:5] == ["kernel modules open → proprietary", "CUDA 13.2 → 12.9",
                          "PyTorch environment rebuilt (cu132 → cu126)",
                          "TensorFlow environment kept (same lock: py3.10-tensorflow2.21.0-cuda-keras3.12.4)"]
    upgrade = change_lines(_decision("upgrade", AFTER, {**BEFORE, "tensorflow": "2.22.0"}))
    assert "TensorFlow environment rebuilt (tensorflow 2.21.0 → 2.22.0)" in upgrade
    assert "kernel modules proprietary → open" in upgrade


def test_decision_environments_for_json():
    envs = decision_environments(_decision("downgrade", BEFORE, AFTER))
    assert [(e["env"], e["action"]) for e in envs] == [("pytorch", "rebuilt"), ("tensorflow", "kept")]
    assert envs[0]["lock_before"] == "py3.10-torch2.14.1-cu132-torchvision0.29.1-fastai2.8.12"
    assert decision_environments({"action": "keep", "before": BEFORE, "stack": BEFORE}) == []
    assert decision_environments(_decision("downgrade", {"driver": "595"}, AFTER)) == []
