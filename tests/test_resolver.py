"""The stack resolver: each release × GPU generation, pins, mixed GPUs, unknown releases."""

from __future__ import annotations

import pytest

from dlrig.errors import InputError
from dlrig.stack import VERSION_KEYS, GpuTarget, resolve

GPUS = {
    "GTX 1080 Ti": GpuTarget("GeForce GTX 1080 Ti", "Pascal", "6.1"),
    "V100": GpuTarget("Tesla V100 PCIe", "Volta", "7.0"),
    "RTX 2070": GpuTarget("GeForce RTX 2070", "Turing", "7.5"),
    "RTX 2080": GpuTarget("GeForce RTX 2080", "Turing", "7.5"),
    "RTX 3090": GpuTarget("GeForce RTX 3090", "Ampere", "8.6"),
    "RTX 4090": GpuTarget("GeForce RTX 4090", "Ada", "8.9"),
    "H100": GpuTarget("H100 PCIe", "Hopper", "9.0"),
    "RTX 5090": GpuTarget("GeForce RTX 5090", "Blackwell", "12.0"),
}

RELEASES = {
    "18.04": ("Ubuntu", "18.04"),
    "20.04": ("Ubuntu", "20.04"),
    "22.04": ("Ubuntu", "22.04"),
    "24.04": ("Ubuntu", "24.04"),
    "deb12": ("Debian", "12"),
}

# release -> (python, python_source) for every GPU that resolves there.
PYTHON = {
    "18.04": ("3.11", "standalone"),
    "20.04": ("3.12", "standalone"),
    "22.04": ("3.10", "system"),
    "24.04": ("3.12", "system"),
    "deb12": ("3.11", "system"),
}

# release -> (tensorflow, keras): Keras 3.13+ needs Python 3.11, so 22.04's Python 3.10 gets 3.12.4.
KERAS = {
    "18.04": ("2.14.1", "2.14.0"),
    "20.04": ("2.21.0", "3.15.1"),
    "22.04": ("2.21.0", "3.12.4"),
    "24.04": ("2.21.0", "3.15.1"),
    "deb12": ("2.21.0", "3.15.1"),
}

_OLD = ("580", "12.9", "2.14.1", "cu126", "proprietary")  # Pascal/Volta on 22.04+: their last driver
_NEW = ("595", "13.2", "2.14.1", "cu132", "open")
_BIONIC = ("530", "12.1", "2.5.1", "cu121", "proprietary")
_FOCAL_OLD = ("575", "12.9", "2.14.1", "cu126", "proprietary")

# (release, GPU) -> (driver, cuda, torch, torch variant, flavour), or a fragment of the problem.
EXPECTED = {
    ("18.04", "GTX 1080 Ti"): _BIONIC, ("18.04", "V100"): _BIONIC, ("18.04", "RTX 2070"): _BIONIC,
    ("18.04", "RTX 2080"): _BIONIC, ("18.04", "RTX 3090"): _BIONIC, ("18.04", "RTX 4090"): _BIONIC,
    ("18.04", "H100"): _BIONIC,
    ("18.04", "RTX 5090"): "needs driver ≥ 570 with the open kernel modules and CUDA ≥ 12.8; NVIDIA ships "
                           "neither for Ubuntu 18.04",
    ("20.04", "GTX 1080 Ti"): _FOCAL_OLD, ("20.04", "V100"): _FOCAL_OLD,
    ("20.04", "RTX 2070"): ("575", "12.9", "2.14.1", "cu126", "open"),
    ("20.04", "RTX 2080"): ("575", "12.9", "2.14.1", "cu126", "open"),
    ("20.04", "RTX 3090"): ("575", "12.9", "2.14.1", "cu126", "open"),
    ("20.04", "RTX 4090"): ("575", "12.9", "2.14.1", "cu126", "open"),
    ("20.04", "H100"): ("575", "12.9", "2.14.1", "cu126", "open"),
    # 20.04 stops at CUDA 12.9; torch 2.14 has Blackwell kernels only in its CUDA 13 builds, so the
    # newest torch with a CUDA 12.x Blackwell build (2.13.0+cu129) is chosen.
    ("20.04", "RTX 5090"): ("575", "12.9", "2.13.0", "cu129", "open"),
}
for _rel in ("22.04", "24.04", "deb12"):
    for _gpu in GPUS:
        EXPECTED[(_rel, _gpu)] = _OLD if _gpu in ("GTX 1080 Ti", "V100") else _NEW


def _resolve(rel, gpus, pins=None, host=None):
    dist, release = RELEASES[rel]
    return resolve(dist, release, gpus, pins or {}, host=host)


@pytest.mark.parametrize(("rel", "gpu"), sorted(EXPECTED), ids=lambda v: str(v))
def test_release_by_gpu_generation(rel, gpu):
    res = _resolve(rel, [GPUS[gpu]])
    expected = EXPECTED[(rel, gpu)]
    assert set(res.versions) == set(VERSION_KEYS)
    if isinstance(expected, str):
        assert not res.ok
        assert any(expected in p for p in res.problems), res.problems
        assert all(v is None for v in res.versions.values())
        return
    assert res.ok, res.problems
    v = res.versions
    assert (v["driver"], v["cuda"], v["torch"], v["torch_cuda_variant"], v["driver_flavour"]) == expected
    assert (v["python"], res.python_source) == PYTHON[rel]
    assert v["fastai"] == "2.8.12"
    assert (v["tensorflow"], v["keras"]) == KERAS[rel]
    assert all(v[key] for key in VERSION_KEYS)


def test_reference_build_ubuntu_1804_rtx_2070():
    res = _resolve("18.04", [GPUS["RTX 2070"]])
    assert res.ok
    assert res.versions == {
        "driver": "530", "driver_flavour": "proprietary", "cuda": "12.1", "cudnn": "8.9", "python": "3.11",
        "torch": "2.5.1", "torchvision": "0.20.1", "torch_cuda_variant": "cu121", "fastai": "2.8.12",
        "tensorflow": "2.14.1", "keras": "2.14.0",
    }
    assert res.apt_repo_path == "ubuntu1804"
    assert res.python_source == "standalone"
    notes = " | ".join(res.notes)
    assert "glibc ≥ 2.28" in notes and "2.27" in notes  # why torch stops at 2.5.1
    assert "CUDA 12.2" in notes  # why TensorFlow stops at 2.14.1
    assert "Python 3.6" in notes  # why a standalone Python


def test_blackwell_on_bionic_says_what_to_do():
    (problem,) = _resolve("18.04", [GPUS["RTX 5090"]]).problems
    assert problem.startswith("GeForce RTX 5090 (Blackwell, sm_120) needs driver ≥ 570")
    assert "use Ubuntu 20.04 or newer or Debian 12" in problem


def test_no_gpus_gets_the_newest_set_with_a_cuda_torch():
    res = _resolve("deb12", [])
    assert res.ok
    v = res.versions
    assert (v["driver"], v["cuda"], v["cudnn"], v["python"]) == ("595", "13.2", "9", "3.11")
    assert (v["torch"], v["torchvision"], v["torch_cuda_variant"]) == ("2.14.1", "0.29.1", "cu132")
    assert (v["tensorflow"], v["keras"], v["fastai"]) == ("2.21.0", "3.15.1", "2.8.12")
    assert res.python_source == "system"
    assert any("no GPUs declared" in n for n in res.notes)


def test_pascal_note_explains_the_older_driver():
    notes = " | ".join(_resolve("24.04", [GPUS["GTX 1080 Ti"]]).notes)
    assert "driver 580 is the newest branch for GeForce GTX 1080 Ti" in notes
    assert "CUDA 12.9 is the last toolkit" in notes


# ---- mixed GPUs ------------------------------------------------------------------------------------------


def test_mixed_generations_resolve_to_what_serves_all():
    res = _resolve("22.04", [GPUS["GTX 1080 Ti"], GPUS["RTX 2070"]])
    assert res.ok
    v = res.versions
    assert (v["driver"], v["cuda"], v["torch_cuda_variant"], v["driver_flavour"]) == (
        "580", "12.9", "cu126", "proprietary")


def test_mixed_turing_and_blackwell_need_a_build_with_both():
    res = _resolve("20.04", [GPUS["RTX 2070"], GPUS["RTX 5090"]])
    assert res.ok
    assert (res.versions["torch"], res.versions["torch_cuda_variant"]) == ("2.13.0", "cu129")
    assert res.versions["driver_flavour"] == "open"


def test_pascal_with_blackwell_names_both_cards():
    res = _resolve("24.04", [GPUS["GTX 1080 Ti"], GPUS["RTX 5090"]])
    assert not res.ok
    (problem,) = res.problems
    assert "GeForce RTX 5090 (Blackwell, sm_120)" in problem
    assert "GeForce GTX 1080 Ti (Pascal, sm_61)" in problem
    assert "open kernel modules" in problem


def test_identical_cards_count_once_in_messages():
    res = _resolve("18.04", [GPUS["RTX 5090"], GPUS["RTX 5090"]])
    (problem,) = res.problems
    assert problem == _resolve("18.04", [GPUS["RTX 5090"]]).problems[0]
    assert problem.count("GeForce RTX 5090") == 1


# ---- pins ----------------------------------------------------------------------------------------------


def test_coherent_pins_are_honoured():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"cuda": "11.8", "torch": "2.1.2", "driver": "535"})
    assert res.ok, res.problems
    v = res.versions
    assert (v["driver"], v["cuda"], v["cudnn"]) == ("535", "11.8", "8.9")
    assert (v["torch"], v["torchvision"], v["torch_cuda_variant"]) == ("2.1.2", "0.16.2", "cu118")
    assert v["tensorflow"] == "2.14.1"  # the newest TensorFlow built for CUDA <= 11.8


def test_a_minor_pin_takes_the_newest_patch():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"torch": "2.1"})
    assert (res.versions["torch"], res.versions["torchvision"]) == ("2.1.2", "0.16.2")


def test_a_torchvision_pin_chooses_its_torch():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"torchvision": "0.16.0"})
    assert res.ok and res.versions["torch"] == "2.1.0"


def test_a_fastai_pin_chooses_an_older_torch():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"fastai": "2.7.12"})
    assert res.ok
    assert res.versions["torch"] == "2.0.1"  # fastai 2.7.12 needs torch < 2.1


def test_a_tensorflow_pin_brings_keras_2():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"tensorflow": "2.15"})
    assert res.ok
    assert (res.versions["tensorflow"], res.versions["keras"]) == ("2.15.1", "2.15.0")


def test_a_keras_pin_moves_to_a_python_that_can_run_it():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"keras": "3.15.1"})
    assert res.ok
    v = res.versions
    assert (v["keras"], v["python"], res.python_source) == ("3.15.1", "3.12", "standalone")
    assert any("keras 3.15.1 (pinned): it needs Python ≥ 3.11, not 3.10" in n for n in res.notes), res.notes


def test_an_old_keras_pin_chooses_an_older_tensorflow():
    res = _resolve("22.04", [GPUS["RTX 2070"]], {"keras": "3.5"})
    assert res.ok
    assert (res.versions["tensorflow"], res.versions["keras"]) == ("2.19.1", "3.5")


def test_python_36_pin_on_bionic_uses_the_system_python():
    res = _resolve("18.04", [GPUS["RTX 2070"]], {"python": "3.6"})
    assert res.ok
    assert res.python_source == "system"
    v = res.versions
    assert (v["torch"], v["fastai"], v["tensorflow"]) == ("1.10.2", "2.5.3", "2.6.5")


@pytest.mark.parametrize(
    ("rel", "gpu", "pins", "fragments"),
    [
        ("22.04", "RTX 2070", {"cuda": "11.8", "torch": "2.8.0"},
         ["torch 2.8.0 (pinned)", "no CUDA build ≤ 11.8", "cu126"]),
        ("18.04", "RTX 2070", {"torch": "2.6.0"},
         ["torch 2.6.0 (pinned)", "glibc ≥ 2.28", "glibc 2.27"]),
        ("24.04", "RTX 2070", {"cuda": "11.8"},
         ["cuda 11.8 (pinned)", "ubuntu2404 repository carries CUDA 12.5 and newer"]),
        ("22.04", "RTX 2070", {"driver": "535", "cuda": "12.4"},
         ["cuda 12.4 (pinned)", "needs driver ≥ 550.54.14", "535"]),
        ("24.04", "V100", {"driver": "590"},
         ["driver 590 (pinned)", "Tesla V100 PCIe (Volta, sm_70)", "384 to 580"]),
        ("24.04", "RTX 2070", {"driver": "470"},
         ["driver 470 (pinned)", "does not package branch 470 for Ubuntu 24.04"]),
        ("22.04", "GTX 1080 Ti", {"cuda": "13.0"},
         ["cuda 13.0 (pinned)", "GeForce GTX 1080 Ti (Pascal, sm_61) needs CUDA ≤ 12.9"]),
        ("22.04", "RTX 5090", {"cuda": "12.4"},
         ["cuda 12.4 (pinned)", "needs CUDA ≥ 12.8"]),
        ("22.04", "RTX 5090", {"driver_flavour": "proprietary"},
         ["driver_flavour proprietary (pinned)", "open kernel modules"]),
        ("24.04", "RTX 2070", {"python": "3.14"}, ["python 3.14 (pinned)", "builds of 3.11, 3.12 only"]),
        ("22.04", "RTX 2070", {"torch": "2.1", "torchvision": "0.17.0"},
         ["torchvision 0.17.0 (pinned)", "torch 2.1.2 pairs with torchvision 0.16.2"]),
        ("22.04", "RTX 2070", {"tensorflow": "2.21", "keras": "2.15"},
         ["keras 2.15 (pinned)", "Keras 3"]),
        ("22.04", "RTX 2070", {"torch": "9.9"}, ["torch 9.9 (pinned): unknown release"]),
        ("22.04", "RTX 2070", {"keras": "3.15.1", "python": "3.10"},
         ["keras 3.15.1 (pinned)", "Python ≥ 3.11"]),
        ("22.04", "RTX 2070", {"keras": "3.5", "tensorflow": "2.21"},
         ["keras 3.5 (pinned)", "requires keras ≥ 3.12.0"]),
        ("24.04", "RTX 2070", {"cudnn": "8.9"}, ["cudnn 8.9 (pinned)"]),
    ],
    ids=lambda v: str(v),
)
def test_conflicting_pins_are_rejected_with_the_reason(rel, gpu, pins, fragments):
    res = _resolve(rel, [GPUS[gpu]], pins)
    assert not res.ok
    text = " | ".join(res.problems)
    for fragment in fragments:
        assert fragment in text, text


# ---- bad input ------------------------------------------------------------------------------------------


def test_unknown_release_is_input_error_naming_os_release():
    with pytest.raises(InputError) as err:
        resolve("Ubuntu", "16.04", [], {}, host="deep-al")
    assert err.value.path == "os.release"
    assert err.value.host == "deep-al"
    assert "Ubuntu 18.04" in err.value.problem and "Debian 12" in err.value.problem


def test_unknown_distribution_is_input_error_naming_os_distribution():
    with pytest.raises(InputError) as err:
        resolve("Fedora", "40", [], {})
    assert err.value.path == "os.distribution"


def test_release_spellings_from_facts_are_accepted():
    assert resolve("Ubuntu", "jammy", [], {}).apt_repo_path == "ubuntu2204"
    assert resolve("Debian", "12.7", [], {}).apt_repo_path == "debian12"


@pytest.mark.parametrize(("pins", "path"), [
    ({"pytorch": "2.1"}, "stack.pytorch"),
    ({"cuda": "twelve"}, "stack.cuda"),
    ({"driver_flavour": "nouveau"}, "stack.driver_flavour"),
    ({"torch_cuda_variant": "rocm6"}, "stack.torch_cuda_variant"),
])
def test_malformed_pins_are_input_errors(pins, path):
    with pytest.raises(InputError) as err:
        resolve("Ubuntu", "22.04", [], pins, host="deep-al")
    assert err.value.path == path


def test_unknown_architecture_is_a_problem():
    res = resolve("Ubuntu", "22.04", [GpuTarget("Tesla K80", "Kepler", "3.7")], {})
    assert not res.ok
    assert "unknown architecture 'Kepler'" in res.problems[0]


# ---- the preflight's `stack` check ------------------------------------------------------------------------

def _plan(os=None, gpus=None, stack=None):
    from dlrig.plan.parse import parse_host

    hostvars = {
        "hardware": {
            "cpu": {"model": "AMD Ryzen Threadripper 1900X", "watts": 180, "pcie_lanes": 64},
            "motherboard": {"model": "Gigabyte X399 AORUS Pro", "gpu_slots": [16, 16, 8, 8], "watts": 0},
            "memory": {"gb": 16, "watts": 11},
            "gpus": gpus if gpus is not None else [{"model": "GeForce RTX 2070", "count": 1}],
            "psu": {"watts": 1000, "efficiency": "platinum"},
        },
    }
    if os is not None:
        hostvars["os"] = os
    if stack is not None:
        hostvars["stack"] = stack
    return parse_host("deep-al", hostvars)


def test_check_reports_the_versions_keyed_by_name():
    from dlrig.checks.stack import check_stack

    result = check_stack(_plan(os={"distribution": "Ubuntu", "release": "18.04"}))
    entry = result.as_dict()
    assert (entry["id"], entry["status"]) == ("stack", "ok")
    for key, value in {"driver": "530", "cuda": "12.1", "cudnn": "8.9", "python": "3.11", "torch": "2.5.1",
                       "torchvision": "0.20.1", "fastai": "2.8.12", "tensorflow": "2.14.1",
                       "keras": "2.14.0"}.items():
        assert entry[key] == value
        assert entry["versions"][key] == value
    assert entry["versions"]["torch_cuda_variant"] == "cu121"
    assert "driver 530" in entry["message"] and "Python 3.11 (standalone)" in entry["message"]


def test_check_fails_with_the_actionable_message():
    from dlrig.checks.stack import check_stack

    result = check_stack(_plan(os={"distribution": "Ubuntu", "release": "18.04"},
                               gpus=[{"model": "GeForce RTX 5090", "count": 1}]))
    assert result.status == "fail"
    assert "GeForce RTX 5090 (Blackwell, sm_120) needs driver ≥ 570" in result.message
    assert result.figures["driver"] is None


def test_check_rejects_a_conflicting_pin():
    from dlrig.checks.stack import check_stack

    result = check_stack(_plan(os={"distribution": "Ubuntu", "release": "18.04"}, stack={"torch": "2.6.0"}))
    assert result.status == "fail"
    assert "torch 2.6.0 (pinned)" in result.message


def test_check_without_os_warns_and_resolves_nothing():
    from dlrig.checks.stack import check_stack

    result = check_stack(_plan())
    assert result.status == "warn"
    assert "resolved from facts at run time" in result.message
    assert result.figures["versions"] == dict.fromkeys(VERSION_KEYS)


def test_check_with_unknown_release_raises_input_error():
    from dlrig.checks.stack import check_stack

    with pytest.raises(InputError) as err:
        check_stack(_plan(os={"distribution": "Ubuntu", "release": "14.04"}))
    assert (err.value.host, err.value.path) == ("deep-al", "os.release")
