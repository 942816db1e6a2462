"""Issue 20: a GTX 1080 Ti (Pascal) added to a Turing box on Ubuntu 22.04 running driver 595 means a driver
downgrade to 580, CUDA 13.2 -> 12.9 and a rebuilt PyTorch environment; the what-if and the live preflight
say so in text and JSON, and the live preflight fails on the downgrade until the owner consents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from clirun import run_cli
from hwfixtures import FIXTURES, hwdetect, text

from dlrig.errors import InputError
from dlrig.output.text import render
from dlrig.upgrade.live import Detection, live_document

INVENTORY = Path(__file__).resolve().parent / "fixtures" / "inventories" / "turing-jammy"
SPEC = "gpus=1x GeForce RTX 2070+1x GeForce GTX 1080 Ti"
DOWNGRADE = "driver 595 → 580 (downgrade: GeForce GTX 1080 Ti is Pascal; 580 is its last branch)"
LINES = [DOWNGRADE, "CUDA 13.2 → 12.9", "PyTorch environment rebuilt (cu132 → cu126)",
         "TensorFlow environment rebuilt (CUDA 13.2 → 12.9)"]


def _block(out: str, host: str) -> str:
    return next(b for b in out.split("\n\n") if b.startswith(host + " "))


def test_what_if_text_says_downgrade_cuda_and_rebuilt_environments():
    code, out, err = run_cli(["-i", str(INVENTORY), "--what-if", SPEC])
    assert code == 0, err
    plain = _block(out, "turing-jammy")
    assert "stack         OK   driver 595, CUDA 13.2           OK   driver 580, CUDA 12.9" in plain
    assert "every check as today, but the software changes (planned software)" in plain
    assert "  planned software:\n" + "".join(f"    {line}\n" for line in LINES) in plain
    assert '    needs consent: nvidia_driver_allow_downgrade: true or stack: {driver: "580"}' in plain
    assert "    consent: nvidia_driver_allow_downgrade: true" in _block(out, "turing-jammy-consent")


def test_what_if_json_carries_the_decision_and_the_lines():
    code, out, err = run_cli(["-i", str(INVENTORY), "--limit", "turing-jammy", "--format", "json",
                              "--what-if", SPEC])
    assert code == 0, err
    software = json.loads(out)["hosts"][0]["software"]
    assert software["changes"] is True
    assert software["lines"][:4] == LINES
    driver = software["driver"]
    assert (driver["action"], driver["installed_branch"], driver["branch"]) == ("downgrade", "595", "580")
    assert driver["forced_by"] == ["GeForce GTX 1080 Ti is Pascal; 580 is its last branch"]
    assert driver["needs_consent"] is True and driver["consent"] is None
    variants = (driver["before"]["torch_cuda_variant"], driver["stack"]["torch_cuda_variant"])
    assert variants == ("cu132", "cu126")


def test_what_if_without_a_driver_change_prints_no_software_section():
    code, out, _ = run_cli(["-i", str(INVENTORY), "--limit", "turing-jammy", "--what-if",
                            "gpus=2x GeForce RTX 2070"])
    assert code == 0
    assert "planned software" not in out and "    every check as today\n" in out
    code, out, _ = run_cli(["-i", str(INVENTORY), "--limit", "turing-jammy", "--format", "json",
                            "--what-if", "gpus=2x GeForce RTX 2070"])
    software = json.loads(out)["hosts"][0]["software"]
    assert software["changes"] is False and software["lines"] == ["driver 595 kept"]


def _turing_pascal_facts(tmp_path: Path) -> dict:
    """Detection of the two-GPU fixture with its second card made a GTX 1080 Ti and driver 595 loaded."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "two-gpus" / "root", root, symlinks=True)
    (root / "sys" / "bus" / "pci" / "devices" / "0000:42:00.0" / "device").write_text("0x1b06\n")
    rows = (text("two-gpus", "nvidia-smi.txt") or "").splitlines()
    rows = [r.replace("535.183.01", "595.45.04") for r in rows]
    rows[1] = rows[1].replace("NVIDIA GeForce RTX 2070", "NVIDIA GeForce GTX 1080 Ti")
    return hwdetect().detect(str(root), text("two-gpus", "lspci-vmmnD.txt"), "\n".join(rows) + "\n")


def _hosts(consent: bool) -> list[tuple[str, dict]]:
    name = "turing-jammy-consent" if consent else "turing-jammy"
    hostvars = yaml.safe_load((INVENTORY / "host_vars" / f"{name}.yml").read_text())
    hostvars["hardware"]["gpus"] = [{"model": "GeForce RTX 2070", "count": 1},
                                    {"model": "GeForce GTX 1080 Ti", "count": 1}]
    return [(name, hostvars)]


def _live(tmp_path: Path, consent: bool) -> dict:
    facts = _turing_pascal_facts(tmp_path)

    def detector(inventories, pattern, names, module_args, become):
        return {n: Detection(n, facts=facts) for n in names}

    return live_document(_hosts(consent), ["inv"], None, detector=detector)["hosts"][0]


def test_live_preflight_fails_on_a_downgrade_without_consent(tmp_path):
    host = _live(tmp_path, consent=False)
    checks = {c["id"]: c for c in host["checks"]}
    assert checks["gpu_count"]["status"] == "ok", checks["gpu_count"]["message"]
    assert host["verdict"] == "fail" and checks["driver"]["status"] == "fail"
    message = checks["driver"]["message"]
    assert "driver 595 → 580 is a downgrade (GeForce GTX 1080 Ti is Pascal; 580 is its last branch)" \
        in message
    assert "nvidia_driver_allow_downgrade: true" in message and "take the GeForce GTX 1080 Ti out" in message
    assert host["driver"]["action"] == "downgrade" and host["driver"]["lines"][:4] == LINES
    shown = render({"mode": "live", "hosts": [host]})
    assert "FAIL driver" in shown and "is a downgrade" in shown


def test_live_preflight_passes_a_consented_downgrade_and_says_what_changes(tmp_path):
    host = _live(tmp_path, consent=True)
    checks = {c["id"]: c for c in host["checks"]}
    assert host["verdict"] == "ok", checks
    assert checks["driver"]["status"] == "ok"
    assert checks["driver"]["message"].startswith("; ".join(LINES))
    assert checks["driver"]["message"].endswith("consent: nvidia_driver_allow_downgrade: true")
    assert checks["driver"]["driver"]["consent"] == "nvidia_driver_allow_downgrade: true"


def test_a_consent_that_is_not_a_boolean_is_bad_input_of_the_live_preflight(tmp_path):
    hosts = _hosts(consent=False)
    hosts[0][1]["nvidia_driver_allow_downgrade"] = "sometimes"

    def detector(inventories, pattern, names, module_args, become):
        return {n: Detection(n, facts=_turing_pascal_facts(tmp_path)) for n in names}

    bad = "turing-jammy: nvidia_driver_allow_downgrade: expected true or false"
    with pytest.raises(InputError, match=bad):
        live_document(hosts, ["inv"], None, detector=detector)
