"""The host-side parsers of plugins/module_utils/hwdetect.py against the fixture trees and outputs."""

from __future__ import annotations

import ast

import pytest
from hwfixtures import CASES, FIXTURES, HWDETECT, MODULE, facts, hwdetect, text

hw = hwdetect()


# --- Python 3.6 targets ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [HWDETECT, MODULE], ids=["hwdetect", "hardware_facts"])
def test_host_side_code_parses_as_python_3_6(path):
    source = path.read_text()
    ast.parse(source, feature_version=(3, 6))  # walrus, positional-only params, etc. are errors here
    for newer in (
        "from __future__ import annotations",
        "import dataclasses",
        "from dataclasses",
        "removeprefix",
        "removesuffix",
        "math.prod",
        "functools.cache",
        "subprocess.run(",
        "capture_output",
    ):
        assert newer not in source, f"{path.name} uses {newer!r}, which Python 3.6 lacks"


# --- PCI scan -------------------------------------------------------------------------------------


def test_one_rtx_2070_is_found_with_its_link():
    gpus = hw.scan_pci_gpus(str(FIXTURES / "rtx2070" / "root"))
    assert len(gpus) == 1  # audio (.1), USB-C (.2) and UCSI (.3) functions of the same board are not GPUs
    gpu = gpus[0]
    assert gpu["pci_address"] == "0000:0a:00.0"
    assert gpu["device_id"] == "1f02"
    assert (gpu["subsystem_vendor_id"], gpu["subsystem_device_id"]) == ("10de", "12ad")
    assert (gpu["current_link_width"], gpu["max_link_width"]) == (16, 16)
    assert (gpu["current_link_gen"], gpu["max_link_gen"]) == (1, 3)  # idle GPUs drop to 2.5 GT/s
    assert gpu["slot"] == "1"
    assert gpu["driver"] == "nvidia"
    assert gpu["present"] is True and gpu["problems"] == []


def test_two_gpus_sorted_by_address_and_rev_a_device_id():
    gpus = hw.scan_pci_gpus(str(FIXTURES / "two-gpus" / "root"))
    assert [g["pci_address"] for g in gpus] == ["0000:0a:00.0", "0000:42:00.0"]
    assert [g["device_id"] for g in gpus] == ["1f02", "1f07"]
    assert [g["slot"] for g in gpus] == ["1", "3"]


def test_x4_riser_reports_the_narrow_current_width():
    (gpu,) = hw.scan_pci_gpus(str(FIXTURES / "x4-riser" / "root"))
    assert gpu["current_link_width"] == 4
    assert gpu["max_link_width"] == 16
    assert gpu["current_link_gen"] == 3


def test_gpu_that_fell_off_the_bus_is_listed_but_not_present():
    gpus = {g["pci_address"]: g for g in hw.scan_pci_gpus(str(FIXTURES / "fell-off-bus" / "root"))}
    lost, alive = gpus["0000:0a:00.0"], gpus["0000:42:00.0"]
    assert lost["present"] is False
    assert "fell off the bus" in lost["problems"][0]
    assert lost["current_link_width"] is None  # the all-ones width 63 is not a link width
    assert lost["current_link_gen"] is None
    assert alive["present"] is True


def test_no_gpu_ignores_other_vendors_display_controllers():
    assert hw.scan_pci_gpus(str(FIXTURES / "no-gpu" / "root")) == []


def test_h200_is_a_3d_controller_on_a_gen5_x16_link():
    (gpu,) = hw.scan_pci_gpus(str(FIXTURES / "h200" / "root"))
    assert gpu["class"] == "030200"
    assert gpu["device_id"] == "2335"
    assert (gpu["current_link_gen"], gpu["current_link_width"]) == (5, 16)


def test_missing_sysfs_gives_no_gpus(tmp_path):
    assert hw.scan_pci_gpus(str(tmp_path)) == []


@pytest.mark.parametrize(
    ("speed", "gen"),
    [
        ("2.5 GT/s PCIe", 1),
        ("5.0 GT/s PCIe", 2),
        ("5 GT/s", 2),
        ("8.0 GT/s PCIe", 3),
        ("16.0 GT/s PCIe", 4),
        ("32.0 GT/s PCIe", 5),
        ("64.0 GT/s PCIe", 6),
        ("Unknown", None),
        ("Unknown speed", None),
        ("", None),
        (None, None),
        ("12 GT/s", None),
    ],
)
def test_pcie_generation_from_kernel_speed_text(speed, gen):
    assert hw.pcie_gen_from_speed(speed) == gen


def test_link_bandwidth():
    assert hw.link_bandwidth_gbps(3, 16) == 15.76
    assert hw.link_bandwidth_gbps(3, 4) == 3.94
    assert hw.link_bandwidth_gbps(5, 16) == 63.01
    assert hw.link_bandwidth_gbps(None, 16) is None


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("00000000:0A:00.0", "0000:0a:00.0"),
        ("0000:42:00.0", "0000:42:00.0"),
        ("0a:00.0", "0000:0a:00.0"),
        ("00000001:9A:00.1", "0001:9a:00.1"),
        ("GPU-1234", None),
        ("", None),
    ],
)
def test_pci_address_normalisation(raw, address):
    assert hw.normalize_pci_address(raw) == address


# --- lspci ----------------------------------------------------------------------------------------


def test_lspci_parsing_keeps_only_nvidia_display_devices():
    gpus = hw.lspci_gpus(text("two-gpus", "lspci-vmmnD.txt"))
    assert [(g["pci_address"], g["device_id"], g["slot"]) for g in gpus] == [
        ("0000:0a:00.0", "1f02", "1"),
        ("0000:42:00.0", "1f07", "3"),
    ]


def test_lspci_rev_ff_marks_the_card_lost():
    gpus = {g["pci_address"]: g for g in hw.lspci_gpus(text("fell-off-bus", "lspci-vmmnD.txt"))}
    assert gpus["0000:0a:00.0"]["present"] is False
    assert "revision ff" in gpus["0000:0a:00.0"]["problems"][0]
    assert gpus["0000:42:00.0"]["present"] is True


def test_lspci_is_the_fallback_when_sysfs_shows_nothing():
    merged = hw.merge_lspci([], hw.lspci_gpus(text("rtx2070", "lspci-vmmnD.txt")))
    assert [g["source"] for g in merged] == ["lspci"]


def test_lspci_rev_ff_overrides_a_sysfs_view_that_still_looks_alive():
    sysfs = [
        dict(g, present=True, problems=[]) for g in hw.scan_pci_gpus(str(FIXTURES / "fell-off-bus" / "root"))
    ]
    merged = {
        g["pci_address"]: g
        for g in hw.merge_lspci(sysfs, hw.lspci_gpus(text("fell-off-bus", "lspci-vmmnD.txt")))
    }
    assert merged["0000:0a:00.0"]["present"] is False


# --- nvidia-smi -----------------------------------------------------------------------------------


def test_nvidia_smi_rows_are_typed():
    smi = hw.parse_nvidia_smi(text("rtx2070", "nvidia-smi.txt"))
    assert smi["driver_answers"] is True and smi["errors"] == []
    (row,) = smi["gpus"]
    assert row == {
        "index": 0,
        "pci_address": "0000:0a:00.0",
        "name": "NVIDIA GeForce RTX 2070",
        "memory_total_mib": 8192,
        "power_limit_w": 185.0,
        "power_min_limit_w": 125.0,
        "power_max_limit_w": 215.0,
        "power_default_limit_w": 185.0,
        "driver_version": "530.30.02",
        "current_link_gen": 1,
        "current_link_width": 16,
        "max_link_gen": 3,
        "max_link_width": 16,
    }


def test_nvidia_smi_na_and_not_supported_become_none():
    line = (
        "0, 00000000:01:00.0, NVIDIA GeForce GTX 1080, 8192, [N/A], [Not Supported], [Not Supported], "
        "[N/A], 470.256.02, 3, 16, 3, 16"
    )
    (row,) = hw.parse_nvidia_smi(line)["gpus"]
    assert row["power_limit_w"] is None
    assert row["power_min_limit_w"] is None and row["power_max_limit_w"] is None
    assert row["power_default_limit_w"] is None
    assert row["driver_version"] == "470.256.02"


def test_nvidia_smi_device_handle_error_names_the_card():
    smi = hw.parse_nvidia_smi(text("fell-off-bus", "nvidia-smi.txt"))
    assert [g["pci_address"] for g in smi["gpus"]] == ["0000:42:00.0"]
    (error,) = smi["errors"]
    assert error["pci_address"] == "0000:0a:00.0"
    assert "Unknown Error" in error["message"]


@pytest.mark.parametrize(
    ("line", "address"),
    [
        ("Unable to determine the device handle for GPU0000:0A:00.0: Unknown Error", "0000:0a:00.0"),
        ("Unable to determine the device handle for GPU1: 0000:34:00.0: Unknown Error", "0000:34:00.0"),
        ("Unable to determine the device handle for GPU 0: Unknown Error", None),
    ],
)
def test_device_handle_error_variants(line, address):
    (error,) = hw.parse_nvidia_smi(line)["errors"]
    assert error["pci_address"] == address


def test_driver_not_loaded_answers_nothing():
    smi = hw.parse_nvidia_smi(text("no-gpu", "nvidia-smi.txt"))
    assert smi["driver_answers"] is False and smi["gpus"] == []
    assert "couldn't communicate with the NVIDIA driver" in smi["errors"][0]["message"]


def test_h200_row():
    (row,) = hw.parse_nvidia_smi(text("h200", "nvidia-smi.txt"))["gpus"]
    assert row["name"] == "NVIDIA H200"
    assert row["memory_total_mib"] == 143771
    assert (row["power_min_limit_w"], row["power_max_limit_w"]) == (200.0, 700.0)
    assert (row["max_link_gen"], row["max_link_width"]) == (5, 16)


def test_smi_rows_attach_to_pci_gpus_and_errors_mark_them_lost():
    result = facts("fell-off-bus")
    by_address = {g["pci_address"]: g for g in result["gpus"]}
    assert by_address["0000:42:00.0"]["smi"]["index"] == 1
    lost = by_address["0000:0a:00.0"]
    assert lost["smi"] is None and lost["present"] is False
    assert any(p.startswith("nvidia-smi: Unable to determine") for p in lost["problems"])


def test_smi_row_without_a_pci_device_is_kept():
    smi = hw.parse_nvidia_smi(text("rtx2070", "nvidia-smi.txt"))
    (gpu,) = hw.merge_nvidia_smi([], smi)
    assert gpu["source"] == "nvidia-smi" and gpu["current_link_width"] == 16


# --- CPU, RAM, kernel, Secure Boot, module --------------------------------------------------------


def test_cpu_ram_kernel_of_the_reference_build():
    result = facts("rtx2070")
    assert result["cpu_model"] == "AMD Ryzen Threadripper 1900X 8-Core Processor"
    assert result["cpu_threads"] == 16
    assert result["ram_kib"] == 16386940
    assert result["ram_gb"] == 15.6
    assert result["kernel"] == "4.15.0-213-generic"
    assert result["nvidia_module_loaded"] is True
    assert result["driver_version"] == "530.30.02"


@pytest.mark.parametrize(
    ("value", "state"),
    [(b"\x06\x00\x00\x00\x01", "enabled"), (b"\x06\x00\x00\x00\x00", "disabled"), (b"\x06", "unknown")],
)
def test_secure_boot_from_the_efi_variable(tmp_path, value, state):
    efivars = tmp_path / "sys/firmware/efi/efivars"
    efivars.mkdir(parents=True)
    (efivars / hw.SECURE_BOOT_EFIVAR).write_bytes(value)
    assert hw.secure_boot_state(str(tmp_path)) == state


def test_secure_boot_without_efi_is_unsupported(tmp_path):
    assert hw.secure_boot_state(str(tmp_path)) == "unsupported"
    assert facts("no-gpu")["secure_boot"] == "unsupported"
    assert facts("rtx2070")["secure_boot"] == "disabled"


def test_efi_without_the_variable_is_unknown(tmp_path):
    (tmp_path / "sys/firmware/efi").mkdir(parents=True)
    assert hw.secure_boot_state(str(tmp_path)) == "unknown"


def test_nvidia_module_from_sys_module_alone(tmp_path):
    (tmp_path / "sys/module/nvidia").mkdir(parents=True)
    (tmp_path / "sys/module/nvidia/version").write_text("550.127.05\n")
    assert hw.nvidia_module(str(tmp_path)) == {"loaded": True, "version": "550.127.05"}


def test_nvidia_modeset_alone_is_not_nvidia(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/modules").write_text("nvidia_modeset 1306624 0 - Live 0x0\nnouveau 2 0 - Live 0x0\n")
    assert hw.nvidia_module(str(tmp_path))["loaded"] is False


def test_arm_cpuinfo_falls_back_to_other_keys(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(
        "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\n\nHardware\t: NVIDIA Jetson AGX Orin\n"
    )
    assert hw.cpu_info(str(tmp_path)) == {"cpu_model": "NVIDIA Jetson AGX Orin", "cpu_threads": 2}


def test_empty_root_reads_as_unknown_everywhere(tmp_path):
    result = hw.detect(str(tmp_path))
    assert result["gpus"] == [] and result["cpu_model"] is None and result["ram_gb"] is None
    assert result["kernel"] is None and result["nvidia_module_loaded"] is False
    assert result["driver_answers"] is False and result["driver_version"] is None


@pytest.mark.parametrize("case", CASES)
def test_every_case_yields_json_serialisable_facts(case):
    import json

    result = facts(case)
    assert json.loads(json.dumps(result)) == result


# --- df: the file systems' free space (the live preflight's disk_space check) ------------------------------

@pytest.mark.parametrize("case", [*CASES, "small-disk"])
def test_df_fixture_lists_every_mount_with_its_sizes(case):
    mounts = hwdetect().parse_df(text(case, "df.txt"))
    points = [m["mount"] for m in mounts]
    assert points == ["/dev", "/run", "/", "/dev/shm", "/boot/efi", "/data"]   # header skipped, order kept
    root = mounts[2]
    assert root["size_total"] == 490577010688
    assert root["size_available"] == (100_000_000 if case == "small-disk" else 212301443072)


def test_df_parsing_keeps_spaces_in_mount_points_and_skips_what_is_not_a_mount():
    output = (
        "     1B-blocks        Avail Mounted on\n"
        "  107374182400  53687091200 /\n"
        "   10737418240   1073741824 /media/my disk\n"
        "df: /run/user/1000/doc: Operation not permitted\n"
        "  107374182400  53687091200 /\n"        # a second mount on the same point: the first one counts
        "             -            - /proc/sys/fs/binfmt_misc\n"
    )
    assert hwdetect().parse_df(output) == [
        {"mount": "/", "size_total": 107374182400, "size_available": 53687091200},
        {"mount": "/media/my disk", "size_total": 10737418240, "size_available": 1073741824},
    ]
    assert hwdetect().parse_df("") == [] and hwdetect().parse_df(None) == []
