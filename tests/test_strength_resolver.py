"""The resolver's explanations and notes, and GPUs known only by compute capability (issue 21)."""

from __future__ import annotations

import dataclasses

import pytest

from dlrig.stack import GpuTarget, resolve
from dlrig.stack.matrix_file import load_matrix

RTX_5090 = GpuTarget("GeForce RTX 5090", "Blackwell", "12.0")
RTX_3090 = GpuTarget("GeForce RTX 3090", "Ampere", "8.6")
GTX_1080_TI = GpuTarget("GeForce GTX 1080 Ti", "Pascal", "6.1")


def packaged_only(branches_by_repo):
    """The shipped matrix with NVIDIA's driver branches per repository narrowed to ``branches_by_repo``."""
    m = load_matrix()
    rows = tuple(
        dataclasses.replace(
            d,
            os=tuple(
                repo for repo in d.os if repo not in branches_by_repo or d.branch in branches_by_repo[repo]
            ),
        )
        for d in m.driver_branches
    )
    return dataclasses.replace(m, driver_branches=rows)


# ---- a GPU named by its compute capability only ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cc", "arch", "driver", "cuda", "variant", "flavour"),
    [
        ("8.6", "Ampere", "595", "13.2", "cu132", "open"),
        ("6.1", "Pascal", "580", "12.9", "cu126", "proprietary"),
    ],
)
def test_a_gpu_named_only_by_compute_capability_resolves_like_its_architecture(
    cc, arch, driver, cuda, variant, flavour
):
    by_cc = resolve("Ubuntu", "24.04", [GpuTarget("Unlisted card", None, cc)], {})
    by_arch = resolve("Ubuntu", "24.04", [GpuTarget("Listed card", arch, cc)], {})
    assert by_cc.ok and by_cc.versions == by_arch.versions
    v = by_cc.versions
    assert (v["driver"], v["cuda"], v["torch_cuda_variant"], v["driver_flavour"]) == (
        driver,
        cuda,
        variant,
        flavour,
    )


def test_a_blackwell_known_only_by_compute_capability_gets_the_blackwell_explanation():
    res = resolve("Ubuntu", "18.04", [GpuTarget("Unlisted card", None, "12.0")], {})
    assert not res.ok and res.notes == []
    assert res.problems == [
        "Unlisted card (Blackwell, sm_120) needs driver ≥ 570 with the open kernel modules and CUDA ≥ 12.8; "
        "NVIDIA ships neither for Ubuntu 18.04; use Ubuntu 20.04 or newer or Debian 12"
    ]
    assert set(res.versions.values()) == {None}


def test_a_gpu_with_an_architecture_but_no_compute_capability_takes_the_first_one():
    res = resolve("Ubuntu", "18.04", [GpuTarget("Some Blackwell", "Blackwell", None)], {})
    # Blackwell's first compute capability is 10.0 (sm_100).
    assert res.problems[0].startswith("Some Blackwell (Blackwell, sm_100) needs driver ≥ 570")


def test_an_unknown_compute_capability_and_architecture_is_named():
    res = resolve("Ubuntu", "24.04", [GpuTarget("Odd card", "Kepler", "3.5")], {})
    assert not res.ok
    names = ", ".join(a.name for a in load_matrix().architectures)
    assert res.problems == [
        f"Odd card: unknown architecture 'Kepler' (compute capability 3.5); the version matrix knows {names}"
    ]


# ---- why no driver fits -----------------------------------------------------------------------------------


def test_no_driver_new_enough_names_the_newest_there_and_where_it_works():
    # Ubuntu 22.04's repository narrowed to branches up to 565: CUDA there would reach 12.8, the driver not.
    m = packaged_only({"ubuntu2204": {515, 525, 530, 535, 545, 550, 555, 560}})
    res = resolve("Ubuntu", "22.04", [RTX_5090], {}, matrix=m)
    assert not res.ok
    assert res.problems == [
        "GeForce RTX 5090 (Blackwell, sm_120) needs driver ≥ 570 with the open kernel modules and "
        "CUDA ≥ 12.8; NVIDIA ships no driver ≥ 570 (newest there: 560) for Ubuntu 22.04; use Ubuntu 20.04 "
        "or Ubuntu 24.04 or Debian 12"
    ]


def test_drivers_that_dropped_an_architecture_are_named_with_their_span():
    # Ubuntu 24.04 narrowed to 590 and 595, which no longer support Pascal (last branch 580).
    m = packaged_only({"ubuntu2404": {590, 595}})
    res = resolve("Ubuntu", "24.04", [GTX_1080_TI], {}, matrix=m)
    assert res.problems == [
        "GeForce GTX 1080 Ti (Pascal, sm_61) needs driver ≥ 375 and CUDA ≥ 8.0; the drivers NVIDIA ships "
        "(590–595) no longer support Pascal for Ubuntu 24.04; use Ubuntu 18.04 or Ubuntu 20.04 or "
        "Ubuntu 22.04 or Debian 12"
    ]


# ---- notes ------------------------------------------------------------------------------------------------


def test_keras_note_on_jammy_names_the_newest_keras_and_the_python_it_needs():
    res = resolve("Ubuntu", "22.04", [RTX_3090], {})
    assert res.ok and res.versions["keras"] == "3.12.4" and res.versions["python"] == "3.10"
    assert res.notes == [
        "Keras stops at 3.12.4 here; Keras 3.15.1 needs Python ≥ 3.11",
        "open kernel modules (nvidia-open): NVIDIA's default from 560, required by Blackwell",
    ]


def test_no_keras_note_where_the_newest_keras_is_chosen_or_pinned():
    assert not any("Keras" in n for n in resolve("Ubuntu", "24.04", [RTX_3090], {}).notes)
    pinned = resolve("Ubuntu", "22.04", [RTX_3090], {"keras": "3.12.4"})
    assert pinned.ok and not any("Keras stops" in n for n in pinned.notes)


def test_blackwell_note_says_tensorflow_runs_through_ptx():
    res = resolve("Ubuntu", "24.04", [RTX_5090], {})
    assert res.ok
    assert res.notes == [
        "TensorFlow 2.21.0 is built for CUDA 12.5 without Blackwell kernels; it runs there through PTX JIT "
        "compilation (slow first start)",
        "open kernel modules (nvidia-open): NVIDIA's default from 560, required by Blackwell",
    ]
    assert not any("Blackwell kernels" in n for n in resolve("Ubuntu", "24.04", [RTX_3090], {}).notes)


# ---- pins that cannot hold, named with the card --------------------------------------------------------


def test_an_open_flavour_pin_names_the_card_the_open_modules_do_not_support():
    res = resolve("Ubuntu", "24.04", [GTX_1080_TI], {"driver_flavour": "open"})
    assert res.problems == [
        "driver_flavour open (pinned): the open kernel modules support Turing and newer, not "
        "GeForce GTX 1080 Ti (Pascal, sm_61)"
    ]


def test_a_cuda_pin_past_an_architectures_last_toolkit_names_the_major_that_dropped_it():
    res = resolve("Ubuntu", "24.04", [GTX_1080_TI], {"cuda": "13.0"})
    assert res.problems == [
        "cuda 13.0 (pinned): CUDA 13.x dropped Pascal; GeForce GTX 1080 Ti (Pascal, sm_61) needs CUDA ≤ 12.9"
    ]


def test_a_cudnn_8_9_pin_holds_the_toolkit_at_the_last_cuda_it_supports():
    # cuDNN 8.9 supports CUDA 11.0 to 12.9: on 22.04 the newest CUDA (13.2) gives way to 12.9.
    res = resolve("Ubuntu", "22.04", [RTX_3090], {"cudnn": "8.9"})
    assert res.ok
    assert (res.versions["driver"], res.versions["cuda"], res.versions["cudnn"]) == ("595", "12.9", "8.9")
