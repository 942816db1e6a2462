"""The hardware catalogue: data quality (every entry sourced and complete) and name/PCI-id matching."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

from dlrig.plan import catalogue
from dlrig.plan.catalogue import find_cpu, find_gpu, gpu_by_pci_id, suggest_cpus, suggest_gpus

RAW = yaml.safe_load(resources.files("dlrig").joinpath("data/catalogue.yml").read_text(encoding="utf-8"))
ARCH_CC = {
    "Pascal": {"6.0", "6.1"},
    "Volta": {"7.0"},
    "Turing": {"7.5"},
    "Ampere": {"8.0", "8.6"},
    "Ada": {"8.9"},
    "Hopper": {"9.0"},
    "Blackwell": {"10.0", "12.0"},
}


@pytest.mark.parametrize("entry", RAW["gpus"], ids=lambda e: e["name"])
def test_every_gpu_entry_is_complete_and_sourced(entry):
    for key in (
        "name",
        "watts",
        "vram_gb",
        "arch",
        "compute_capability",
        "pcie_gen",
        "pci_device_ids",
        "source",
    ):
        assert entry.get(key) not in (None, "", []), key
    assert "fp16_tflops" in entry and "fp32_tflops" in entry
    assert isinstance(entry["compute_capability"], str)
    assert entry["compute_capability"] in ARCH_CC[entry["arch"]]
    assert entry["pcie_gen"] in (3, 4, 5)
    assert 0 < entry["watts"] <= 1200 and 0 < entry["vram_gb"] <= 192
    for device_id in entry["pci_device_ids"]:
        assert re.fullmatch(r"0x[0-9a-f]{4}", device_id), device_id
    if entry["fp16_tflops"] and entry["fp32_tflops"]:
        assert entry["fp16_tflops"] > entry["fp32_tflops"]  # tensor cores beat the FP32 ALUs
    assert set(entry.get("unverified", [])) <= {
        "watts",
        "vram_gb",
        "fp16_tflops",
        "fp32_tflops",
        "pcie_lanes",
    }


@pytest.mark.parametrize("entry", RAW["cpus"], ids=lambda e: e["name"])
def test_every_cpu_entry_is_complete_and_sourced(entry):
    for key in ("name", "watts", "pcie_lanes", "pcie_gen", "source"):
        assert entry.get(key) not in (None, ""), key
    assert 0 < entry["watts"] <= 400 and 16 <= entry["pcie_lanes"] <= 128


def test_the_catalogue_covers_the_generations_people_use():
    archs = {g.arch for g in catalogue.gpus()}
    assert archs == set(ARCH_CC)
    names = {g.name for g in catalogue.gpus()}
    for name in (
        "GeForce GTX 1080 Ti",
        "GeForce RTX 2070",
        "GeForce RTX 2080",
        "GeForce RTX 3090",
        "GeForce RTX 4090",
        "GeForce RTX 5090",
        "RTX A4000",
        "RTX A5000",
        "RTX A6000",
        "RTX 6000 Ada",
        "Tesla V100 PCIe 16GB",
        "A100 PCIe 40GB",
        "H100 PCIe",
        "H200",
        "B200",
    ):
        assert name in names
    cpus = {c.name for c in catalogue.cpus()}
    for name in ("1900X", "1920X", "1950X", "2950X", "3960X", "3970X"):
        assert f"AMD Ryzen Threadripper {name}" in cpus
    assert any(c.startswith("Intel Xeon W") for c in cpus)


@pytest.mark.parametrize(
    "spelling",
    [
        "GeForce RTX 2070",
        "RTX 2070",
        "NVIDIA GeForce RTX 2070",
        "nvidia geforce rtx 2070",
        "RTX2070",
        "  GeForce  RTX-2070 ",
    ],
)
def test_gpu_names_match_with_or_without_vendor_prefixes(spelling):
    spec = find_gpu(spelling)
    assert spec is not None and spec.name == "GeForce RTX 2070"
    assert (spec.watts, spec.vram_gb, spec.arch, spec.compute_capability, spec.pcie_gen) == (
        175,
        8,
        "Turing",
        "7.5",
        3,
    )


@pytest.mark.parametrize(
    ("smi_name", "expected"),
    [
        ("Tesla V100-PCIE-16GB", "Tesla V100 PCIe 16GB"),
        ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB"),
        ("NVIDIA A100 80GB PCIe", "A100 PCIe 80GB"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H100 80GB HBM3", "H100 SXM5 80GB"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada"),
        ("NVIDIA RTX A6000", "RTX A6000"),
        ("NVIDIA GeForce RTX 2080 Ti", "GeForce RTX 2080 Ti"),
    ],
)
def test_nvidia_smi_names_find_their_card(smi_name, expected):
    spec = find_gpu(smi_name)
    assert spec is not None and spec.name == expected


def test_similar_names_stay_distinct():
    assert find_gpu("RTX 2080").name == "GeForce RTX 2080"
    assert find_gpu("RTX 2080 Ti").name == "GeForce RTX 2080 Ti"
    assert find_gpu("RTX 2080 SUPER").name == "GeForce RTX 2080 SUPER"
    assert find_gpu("Quadro RTX 6000") is None  # Turing Quadro, not the RTX 6000 Ada
    assert find_gpu("RTX 9999") is None


@pytest.mark.parametrize(
    ("device_id", "expected"),
    [
        ("0x1f02", "GeForce RTX 2070"),
        ("0x1f07", "GeForce RTX 2070"),
        ("0x1e82", "GeForce RTX 2080"),
        ("0x1e87", "GeForce RTX 2080"),
        ("0x2331", "H100 PCIe"),
        ("0x2335", "H200"),
        ("1F02", "GeForce RTX 2070"),
        ("10de:1e87", "GeForce RTX 2080"),
        ("0x233510DE", "H200"),
        (0x2331, "H100 PCIe"),
    ],
)
def test_pci_device_ids_map_to_models(device_id, expected):
    spec = gpu_by_pci_id(device_id)
    assert spec is not None and spec.name == expected


def test_unknown_pci_id_is_none():
    assert gpu_by_pci_id("0xffff") is None


def test_pci_ids_are_unique_across_models():
    seen: dict[str, str] = {}
    for spec in catalogue.gpus():
        for device_id in spec.pci_device_ids:
            assert device_id not in seen, f"{device_id}: {seen.get(device_id)} and {spec.name}"
            seen[device_id] = spec.name


@pytest.mark.parametrize(
    "spelling",
    [
        "AMD Ryzen Threadripper 1900X",
        "Threadripper 1900X",
        "AMD Ryzen Threadripper 1900X 8-Core Processor",
        "amd ryzen threadripper 1900x",
    ],
)
def test_cpu_names_match_as_lscpu_prints_them(spelling):
    spec = find_cpu(spelling)
    assert spec is not None and (spec.name, spec.watts, spec.pcie_lanes, spec.pcie_gen) == (
        "AMD Ryzen Threadripper 1900X",
        180,
        64,
        3,
    )


def test_intel_cpu_names_with_trademarks_match():
    assert find_cpu("Intel(R) Xeon(R) W-2145 CPU @ 3.70GHz").name == "Intel Xeon W-2145"
    assert find_cpu("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz").name == "Intel Core i9-9900K"
    assert find_cpu("Threadripper 3960X").pcie_lanes == 72


def test_suggestions_name_the_closest_catalogued_models():
    assert suggest_gpus("RTX 2070 Supr")[0] == "GeForce RTX 2070 SUPER"
    assert "GeForce RTX 2080" in suggest_gpus("GTX 2080")
    assert suggest_gpus("zzzzzzzz") == []
    assert len(suggest_gpus("RTX 30", n=2)) <= 2
    assert "AMD Ryzen Threadripper 1950X" in suggest_cpus("Threadripper 1950")


def test_catalogue_is_loaded_once():
    assert catalogue.load() is catalogue.load()


def test_psu_efficiency_table_is_sourced_and_ordered():
    data = yaml.safe_load(
        resources.files("dlrig").joinpath("data/psu_efficiency.yml").read_text(encoding="utf-8")
    )
    assert data["source"]
    names = [c["name"] for c in data["classes"]]
    assert names == ["none", "white", "bronze", "silver", "gold", "platinum", "titanium"]
    for lower, upper in zip(data["classes"], data["classes"][1:], strict=False):
        assert upper["source"]
        for mains in (115, 230):
            assert upper["mains"][mains][0.5] >= lower["mains"][mains][0.5]
