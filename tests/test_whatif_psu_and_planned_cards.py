"""--what-if accepts the PSU class forms the docs promise, and a planned card the catalogue lacks carries
its own figures in the spec (issue 19, finding 8)."""

from __future__ import annotations

import json

import pytest
from clirun import run_cli

from dlrig.errors import InputError
from dlrig.upgrade.spec import PsuSpec, parse_specs


@pytest.mark.parametrize(("spec", "expected"), [
    ("psu=80 PLUS Gold", PsuSpec(None, "gold")),
    ("psu=80plus platinum", PsuSpec(None, "platinum")),
    ("psu=80 PLUS", PsuSpec(None, "white")),
    ("psu=gold", PsuSpec(None, "gold")),
    ("psu=1300 80 PLUS Gold", PsuSpec(1300, "gold")),
    ("psu=1300W gold", PsuSpec(1300, "gold")),
    ("psu=800", PsuSpec(800, None)),
    ("psu=800 gold", PsuSpec(800, "gold")),
])
def test_psu_class_forms(spec: str, expected: PsuSpec) -> None:
    assert parse_specs([spec]).psu == expected


def test_psu_class_unknown_is_still_refused() -> None:
    with pytest.raises(InputError, match="unknown efficiency class 'diamond'"):
        parse_specs(["psu=1300 diamond"])


def test_an_uncatalogued_card_takes_its_figures_from_the_spec() -> None:
    gpus = parse_specs(["gpus=2x GeForce GTX 980 Ti@250W vram=6GB arch=Maxwell"]).gpus
    assert gpus is not None
    (gpu,) = gpus
    assert (gpu.model, gpu.count, gpu.watts) == ("GeForce GTX 980 Ti", 2, 250)
    assert (gpu.vram_gb, gpu.arch) == (6, "Maxwell")
    code, out, err = run_cli(["--format", "json", "--what-if",
                              "gpus=2x GeForce GTX 980 Ti@250W vram=6 arch=Maxwell"])
    assert code == 0, err
    (host,) = json.loads(out)["hosts"]
    planned = {c["id"]: c for c in host["planned"]["checks"]}
    assert planned["ram_vs_vram"]["vram_gb"] == 12
    assert planned["stack"]["driver"] == "530"  # Maxwell runs on 18.04's newest branch


def test_the_missing_figures_message_points_at_the_spec() -> None:
    code, out, err = run_cli(["--what-if", "gpus=GeForce GTX 980 Ti"])
    assert code == 2 and not out
    assert "--what-if" in err and "in the spec" in err and "vram=" in err and "in the inventory" not in err


@pytest.mark.parametrize("spec", ["gpus=GTX 980 Ti vram=six", "gpus=GTX 980 Ti vram=0",
                                  "gpus=GTX 980 Ti arch="])
def test_bad_vram_or_arch_in_a_spec(spec: str) -> None:
    with pytest.raises(InputError, match="--what-if"):
        parse_specs([spec])
