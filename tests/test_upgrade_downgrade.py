"""Issue 20: a declared card that needs an older driver branch than the installed one is a planned,
consented downgrade (dlrig.upgrade.driver.decide_driver with the real version matrix)."""

from __future__ import annotations

import pytest

from dlrig.errors import InputError
from dlrig.plan.parse import parse_host
from dlrig.upgrade.driver import allow_downgrade, consent_hint, decide_driver, release_branches, unserved

TURING = {"model": "GeForce RTX 2070", "count": 1}
PASCAL = {"model": "GeForce GTX 1080 Ti", "count": 1}


def plan(*gpus, **extra):
    return parse_host("deep-al", {"hardware": {"gpus": list(gpus)}, **extra})


def test_a_known_branch_that_cannot_serve_the_new_card_is_a_downgrade_waiting_for_consent():
    d = decide_driver(plan(TURING, PASCAL), "595.45.04", "Ubuntu", "22.04")
    assert (d.action, d.installed_branch, d.branch) == ("downgrade", "595", "580")
    assert d.forced_by == ["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"]
    assert d.consent is None and d.needs_consent and d.as_dict()["needs_consent"] is True
    assert (d.stack["driver"], d.stack["cuda"], d.stack["torch_cuda_variant"]) == ("580", "12.9", "cu126")
    # What the box ran before the card: 595 with CUDA 13.2 and torch built for it.
    assert (d.before["driver"], d.before["cuda"], d.before["torch_cuda_variant"]) == ("595", "13.2", "cu132")
    hint = consent_hint(d, "deep-al")
    assert "driver 595 → 580 is a downgrade (GeForce GTX 1080 Ti is Pascal; 580 is its last branch)" in hint
    assert "nvidia_driver_allow_downgrade: true" in hint and 'stack: {driver: "580"}' in hint
    assert "take the GeForce GTX 1080 Ti out of hardware.gpus" in hint


@pytest.mark.parametrize("value", [True, "true", "yes"])
def test_the_consent_variable_lets_the_downgrade_through(value):
    p = plan(TURING, PASCAL, nvidia_driver_allow_downgrade=value)
    d = decide_driver(p, "595.45.04", "Ubuntu", "22.04")
    assert (d.action, d.branch) == ("downgrade", "580")
    assert d.consent == "nvidia_driver_allow_downgrade: true" and not d.needs_consent


def test_a_consent_that_is_not_a_boolean_is_bad_input():
    with pytest.raises(InputError, match="deep-al: nvidia_driver_allow_downgrade: expected true or false"):
        allow_downgrade(plan(TURING, nvidia_driver_allow_downgrade="maybe"))
    assert allow_downgrade(plan(TURING)) is False


def test_an_unknown_newer_branch_that_serves_every_card_is_kept():
    newest = release_branches("Ubuntu", "22.04")[0]
    d = decide_driver(plan(TURING), f"{newest + 10}.1.2", "Ubuntu", "22.04")
    assert (d.action, d.branch) == ("keep", str(newest + 10))
    assert f"newer than branch {newest}" in d.reason and d.stack["driver"] == str(newest + 10)
    assert not d.needs_consent


def test_an_unknown_newer_branch_that_cannot_serve_a_card_fails_with_the_message():
    newest = release_branches("Ubuntu", "22.04")[0]
    d = decide_driver(plan(TURING, PASCAL), f"{newest + 10}.1.2", "Ubuntu", "22.04")
    assert (d.action, d.branch) == ("downgrade", "580") and d.needs_consent
    assert "installed from elsewhere" in d.reason
    assert d.forced_by == ["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"]
    assert d.before == {"driver": str(newest + 10)}  # the matrix cannot say what it ran
    assert f"driver {newest + 10} → 580 is a downgrade" in consent_hint(d, "deep-al")


def test_a_driver_pin_lower_than_the_installed_branch_is_a_downgrade_with_the_pin_as_consent():
    d = decide_driver(plan(TURING, PASCAL, stack={"driver": "580"}), "595.45.04", "Ubuntu", "22.04")
    assert (d.action, d.branch) == ("downgrade", "580")
    assert d.consent == "stack.driver 580 (pinned)" and not d.needs_consent
    assert d.forced_by == ["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"]
    # A pin can also move a box down for no card at all: still a downgrade, still consented.
    alone = decide_driver(plan(TURING, stack={"driver": "580"}), "595.45.04", "Ubuntu", "22.04")
    assert (alone.action, alone.branch, alone.forced_by) == ("downgrade", "580", [])


def test_the_cards_the_installed_branch_serves_keep_it():
    d = decide_driver(plan(TURING, {"model": "GeForce RTX 2080", "count": 1}), "595.45.04", "Ubuntu", "22.04")
    assert (d.action, d.branch) == ("keep", "595") and not d.forced_by


def test_unserved_names_the_card_and_its_last_branch():
    from dlrig.upgrade.driver import gpu_targets

    targets, _ = gpu_targets(plan(TURING, PASCAL))
    assert unserved("595", targets) == ["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"]
    assert unserved("580", targets) == []
    assert unserved("400", targets) == ["GeForce RTX 2070 is Turing; it needs branch 410 or newer"]
