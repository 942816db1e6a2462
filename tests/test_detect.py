"""dlrig.upgrade.facts: the host's dlrig_hardware facts as typed data, GPUs named through the catalogue."""

from __future__ import annotations

import pytest
from hwfixtures import facts

from dlrig.errors import InputError
from dlrig.upgrade.facts import DetectedHardware, from_facts, identify


def test_reference_build_one_rtx_2070():
    hw = from_facts(facts("rtx2070"), "deep-al")
    (gpu,) = hw.gpus
    assert gpu.model == "GeForce RTX 2070"
    assert gpu.spec is not None and gpu.spec.arch == "Turing"
    assert gpu.where == "0000:0a:00.0 in slot 1"
    assert (gpu.current_link_width, gpu.max_link_width, gpu.max_link_gen) == (16, 16, 3)
    assert gpu.memory_total_mib == 8192
    assert (gpu.power_limit_w, gpu.power_min_limit_w, gpu.power_max_limit_w) == (185.0, 125.0, 215.0)
    assert hw.count_by_model() == {"GeForce RTX 2070": 1}
    assert hw.ram_gb == 15.6
    assert hw.cpu_model == "AMD Ryzen Threadripper 1900X 8-Core Processor"
    assert hw.driver_answers and hw.driver_version == "530.30.02"


def test_rev_a_device_id_is_the_same_model():
    hw = from_facts(facts("two-gpus"))
    assert [g.device_id for g in hw.gpus] == ["1f02", "1f07"]
    assert hw.count_by_model() == {"GeForce RTX 2070": 2}


def test_lost_gpu_is_kept_apart_from_the_answering_ones():
    hw = from_facts(facts("fell-off-bus"))
    assert hw.count_by_model() == {"GeForce RTX 2070": 1}
    assert hw.count_by_model(include_lost=True) == {"GeForce RTX 2070": 2}
    (lost,) = hw.lost_gpus
    assert lost.pci_address == "0000:0a:00.0"
    assert any("fell off the bus" in p for p in lost.problems)
    assert hw.smi_errors == ("Unable to determine the device handle for GPU0000:0A:00.0: Unknown Error",)


def test_no_gpu_host():
    hw = from_facts(facts("no-gpu"))
    assert hw.gpus == () and hw.count_by_model() == {}
    assert not hw.nvidia_module_loaded and not hw.driver_answers
    assert hw.secure_boot == "unsupported"


def test_h200_by_device_id():
    hw = from_facts(facts("h200"))
    (gpu,) = hw.gpus
    assert gpu.model == "H200"
    assert gpu.spec is not None and gpu.spec.compute_capability == "9.0"
    assert gpu.power_max_limit_w == 700.0


def test_facts_wrapped_under_their_name_are_accepted():
    assert from_facts({"dlrig_hardware": facts("rtx2070")}) == from_facts(facts("rtx2070"))


def test_identify_falls_back_to_the_nvidia_smi_name_then_the_raw_id():
    assert identify("ffff", "NVIDIA GeForce RTX 2070")[0] == "GeForce RTX 2070"
    assert identify("ffff", "NVIDIA Mystery Card") == ("Mystery Card", None)
    assert identify("ffff", None) == ("NVIDIA 10de:ffff", None)
    assert identify(None, None) == ("NVIDIA 10de:????", None)


def test_empty_facts_are_an_empty_host():
    assert from_facts({}) == DetectedHardware()


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        ({"gpus": "none"}, "dlrig_hardware.gpus"),
        ({"gpus": [42]}, "dlrig_hardware.gpus[0]"),
        ({"gpus": [{"device_id": "1f02"}]}, "dlrig_hardware.gpus[0].pci_address"),
        (
            {"gpus": [{"pci_address": "0000:0a:00.0", "current_link_width": "wide"}]},
            "dlrig_hardware.gpus[0].current_link_width",
        ),
        (
            {"gpus": [{"pci_address": "0000:0a:00.0", "smi": {"power_limit_w": "lots"}}]},
            "dlrig_hardware.gpus[0].smi.power_limit_w",
        ),
        ({"ram_gb": "sixteen"}, "dlrig_hardware.ram_gb"),
        ({"dlrig_hardware": []}, "dlrig_hardware"),
    ],
)
def test_malformed_facts_name_the_path(bad, path):
    with pytest.raises(InputError) as err:
        from_facts(bad, "deep-al")
    assert err.value.host == "deep-al"
    assert err.value.path == path
