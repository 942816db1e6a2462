"""The live preflight's disk-space check (dlrig/checks/disk.py) and its data (dlrig/data/disk_sizes.yml)."""

from __future__ import annotations

from pathlib import Path

from dlrig.checks.disk import GB, Need, check_disk, load_sizes, needs_for

ROOT = Path(__file__).resolve().parents[1]
TORCH = "py3.11-torch2.14.1-cu130-torchvision0.29.1-fastai2.8.12.txt"


def mounts(**free_gb: float) -> list[dict[str, object]]:
    names = {"root": "/", "opt": "/opt", "var": "/var"}
    return [{"mount": names[k], "size_available": int(v * GB), "size_total": int(2 * v * GB + GB)}
            for k, v in free_gb.items()]


def test_every_committed_lock_has_a_measured_size_in_the_data() -> None:
    data = load_sizes()
    locks = sorted(p.name for p in ROOT.glob("roles/*/files/locks/*.txt"))
    assert locks and sorted(data["environments"]) == locks
    for name in locks:
        entry = data["environments"][name]
        assert entry["installed_bytes"] > entry["download_bytes"] > 0, name
        assert entry["measured_packages"] + len(entry.get("not_measured", [])) == entry["packages"], name


def test_the_torch_environment_is_gigabytes_as_measured() -> None:
    needs, _ = needs_for([TORCH], [])
    assert needs[0].path == "/opt/dlrig/envs" and needs[0].bytes > 5 * GB


def test_a_full_disk_fails_saying_how_much_is_missing_where_and_what_moves_it() -> None:
    needs, notes = needs_for([TORCH], [])
    result = check_disk(needs, mounts(root=2.0), notes)
    assert result.status == "fail"
    missing = (needs[0].bytes - 2 * GB) / GB
    assert f"{missing:.1f} GB missing at /" in result.message
    assert "/opt/dlrig/envs" in result.message and "python_env_prefix" in result.message
    assert "Nothing was installed" in result.message


def test_a_lock_with_unmeasured_packages_is_called_a_lower_bound() -> None:
    sizes = {"environments": {TORCH: {"packages": 3, "measured_packages": 1, "download_bytes": GB,
                                      "installed_bytes": 2 * GB,
                                      "not_measured": ["torch==2.14.1", "pillow==13.0.0"]}}}
    needs, notes = needs_for([TORCH], [], sizes=sizes)
    assert [n.bytes for n in needs] == [2 * GB]
    result = check_disk(needs, mounts(root=1.0), notes)
    assert result.status == "fail"
    assert "2 packages of" in result.message and "lower bound" in result.message


def test_locations_on_one_file_system_add_up_and_the_longest_mount_wins() -> None:
    needs = [Need("a", "/opt/dlrig/envs", 3 * GB), Need("b", "/var/cache/apt/archives", 3 * GB)]
    assert check_disk(needs, mounts(root=5.0)).status == "fail"          # 6 GB on one 5 GB-free /
    split = check_disk(needs, mounts(root=5.0, opt=4.0))                  # /opt is its own file system
    assert split.status == "ok", split.message
    assert split.figures["file_systems"]["/opt"]["needed_bytes"] == 3 * GB


def test_what_cannot_be_counted_is_said_not_silently_dropped() -> None:
    needs, notes = needs_for(["py3.11-torch9.9.9-cu999-x.txt"], ["13.0"], sizes={"environments": {}})
    assert needs == []
    result = check_disk(needs, mounts(root=100.0), notes)
    assert result.status == "ok" and "Not counted" in result.message
    assert "CUDA toolkit 13.0" in result.message and "generated on demand" in result.message


def test_measured_cuda_toolkits_count_where_they_install_and_in_apt_s_cache() -> None:
    toolkit = {"installed_bytes": 4 * GB, "download_bytes": 2 * GB}
    sizes = {"environments": {}, "cuda_toolkits": {"13.0": toolkit}}
    needs, notes = needs_for([], ["13.0"], sizes=sizes)
    assert [(n.path, n.bytes) for n in needs] == [("/usr/local/cuda-13.0", 4 * GB),
                                                   ("/var/cache/apt/archives", 2 * GB)]
    assert notes == []
    assert needs_for([], ["13.0"], sizes=sizes, cuda_present=["13.0"]) == ([], [])
    assert check_disk(needs, mounts(root=5.0)).status == "fail"


def test_no_mount_facts_is_a_warning_not_a_pass() -> None:
    assert check_disk([Need("a", "/opt", 1)], []).status == "warn"


def test_the_live_check_reads_the_mounts_and_the_resolved_stack() -> None:
    from dlrig.checks.disk import check_disk_live, stack_locks
    from dlrig.checks.registry import Context
    from dlrig.result import CheckResult

    versions = {"python": "3.11", "torch": "2.14.1", "torch_cuda_variant": "cu130", "torchvision": "0.29.1",
                "fastai": "2.8.12", "tensorflow": "2.21.0", "keras": "3.15.1", "cuda": "13.0"}
    assert stack_locks(versions, gpus=False) == [TORCH, "py3.11-tensorflow2.21.0-cpu-keras3.15.1.txt"]
    stack = CheckResult("stack", "ok", "resolved", {"versions": versions})

    class Plan:  # the two attributes the check reads
        os = None
        hardware = None

    ctx = Context(Plan(), "live", facts={"mounts": mounts(root=3.0)}, results=[stack])  # type: ignore[arg-type]
    result = check_disk_live(ctx)
    assert result is not None and result.status == "fail" and "missing at /" in result.message
    assert check_disk_live(Context(Plan(), "live", facts={}, results=[stack])) is None  # type: ignore[arg-type]
