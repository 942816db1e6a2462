"""dlrig.upgrade.driver: the driver decision (keep / upgrade / install) and "does the environment
still fit"."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dlrig.plan.parse import parse_host
from dlrig.upgrade.driver import decide_driver, driver_branch, installed_versions, stack_diff

HARDWARE = {"gpus": [{"model": "GeForce RTX 2070", "count": 2}]}


@dataclass
class FakeResolution:
    ok: bool
    versions: dict
    problems: list = field(default_factory=list)


def fake_resolve(serving: set[str], newest: str):
    """A resolver where ``serving`` branches serve the GPUs and ``newest`` is the unpinned choice."""
    calls = []

    def resolve(distribution, release, gpus, pins, host=None):
        calls.append(dict(pins))
        branch = pins.get("driver", newest)
        if branch not in serving:
            return FakeResolution(False, {}, [f"driver {branch} (pinned): RTX 2070 needs another branch"])
        return FakeResolution(True, {"driver": branch, "cuda": f"cuda-for-{branch}", "torch": "2.7.1"})

    resolve.calls = calls
    return resolve


def plan(**extra):
    return parse_host("box", {"hardware": HARDWARE, **extra})


@pytest.mark.parametrize(("version", "branch"), [("535.183.01", "535"), ("595.10", "595"), ("1010.1", "1010"),
                                                 (None, None), ("", None), ("garbage", None)])
def test_driver_branch(version, branch):
    assert driver_branch(version) == branch


def test_keep_the_installed_branch_when_it_serves_the_new_cards():
    resolve = fake_resolve({"535", "595"}, "595")
    d = decide_driver(plan(), "535.183.01", "Debian", "12", resolve=resolve)
    assert (d.action, d.branch, d.resolved_branch) == ("keep", "535", "595")
    assert d.stack == {"driver": "535", "cuda": "cuda-for-535", "torch": "2.7.1"}
    assert "serves 2× GeForce RTX 2070 with CUDA cuda-for-535: no driver change" in d.reason
    assert "branch 595 would be newer but nothing needs it" in d.reason
    assert resolve.calls == [{}, {"driver": "535"}]


def test_upgrade_when_the_installed_branch_cannot_serve_them():
    d = decide_driver(plan(), "470.256.02", "Ubuntu", "22.04", resolve=fake_resolve({"595"}, "595"))
    assert (d.action, d.branch, d.installed_branch) == ("upgrade", "595", "470")
    assert d.reason.startswith("upgrade branch 470 -> 595: driver 470 (pinned): RTX 2070 needs another")
    assert d.stack["driver"] == "595"


def test_keep_a_newer_driver_installed_from_elsewhere_that_serves_every_card():
    d = decide_driver(plan(), "600.1.2", "Debian", "12", resolve=fake_resolve({"595"}, "595"))
    assert (d.action, d.branch) == ("keep", "600")
    assert "newer than branch" in d.reason and "no driver change" in d.reason and d.stack["driver"] == "600"


def test_install_when_no_driver_answers():
    d = decide_driver(plan(), None, "Debian", "12", resolve=fake_resolve({"595"}, "595"))
    assert (d.action, d.branch) == ("install", "595")
    assert "no NVIDIA driver answers" in d.reason


def test_a_pin_in_the_inventory_wins():
    d = decide_driver(plan(stack={"driver": "595"}), "535.183.01", "Debian", "12",
                      resolve=fake_resolve({"535", "595"}, "595"))
    assert (d.action, d.branch) == ("upgrade", "595")
    assert "the inventory pins driver 595" in d.reason


def test_no_os_or_an_unknown_model_leaves_the_choice_to_the_preflight():
    assert decide_driver(plan(), "535.1", None, None, resolve=fake_resolve(set(), "1")).action == "resolved"
    odd = parse_host("box", {"hardware": {"gpus": [{"model": "Prototype X", "count": 1, "watts": 100,
                                                   "vram_gb": 4}]}})
    d = decide_driver(odd, "535.1", "Debian", "12", resolve=fake_resolve(set(), "1"))
    assert d.action == "resolved" and "Prototype X not in the catalogue" in d.reason


def test_with_the_real_resolver_the_decision_is_coherent():
    fresh = decide_driver(plan(), None, "Debian", "12")
    assert fresh.action == "install" and fresh.branch
    again = decide_driver(plan(), f"{fresh.branch}.10.01", "Debian", "12")
    assert (again.action, again.branch) == ("keep", fresh.branch)
    assert again.stack == fresh.stack


def test_installed_versions_split_the_cuda_label():
    assert installed_versions({"torch": "2.5.1+cu121", "torchvision": "0.20.1+cu121", "python": "3.11.9",
                               "fastai": None}) == {"torch": "2.5.1", "torch_cuda_variant": "cu121",
                                                    "torchvision": "0.20.1", "python": "3.11.9"}
    assert installed_versions({"torch": "2.5.1+cpu"}) == {"torch": "2.5.1"}


def test_stack_diff():
    resolved = {"python": "3.11", "torch": "2.7.1", "torchvision": "0.22.1", "torch_cuda_variant": "cu118",
                "fastai": "2.8.12", "tensorflow": "2.15.1", "keras": "2.15.0", "cuda": "12.2"}
    fits = {"python": "3.11.2", "torch": "2.7.1", "torchvision": "0.22.1", "torch_cuda_variant": "cu118",
            "fastai": "2.8.12"}
    assert stack_diff(fits, resolved, "pytorch") == []
    assert stack_diff({**fits, "torch": "2.5.1", "torch_cuda_variant": "cu121"}, resolved, "pytorch") == [
        "torch 2.5.1 -> 2.7.1", "torch_cuda_variant cu121 -> cu118"]
    assert stack_diff({"python": "3.10.12", "tensorflow": "2.15.1"}, resolved, "tensorflow") == [
        "python 3.10.12 -> 3.11"]
    assert stack_diff({}, resolved, "tensorflow") == ["tensorflow: no record of what is installed"]
