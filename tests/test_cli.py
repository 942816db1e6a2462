"""The CLI through real Ansible inventories: YAML and INI, host_vars and group_vars, --limit, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clirun import run_cli

from dlrig.checks.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
INVENTORIES = Path(__file__).parent / "fixtures" / "inventories"
YAML_DIR, INI_DIR = str(INVENTORIES / "yaml_dir"), str(INVENTORIES / "ini_dir")
BOX = "all:\n  hosts:\n    box1:\n      hardware:\n"  # a one-host YAML inventory, up to box1's hardware
SUMMARY_KEYS = {
    "max_draw_w",
    "psu_w",
    "load_pct",
    "lanes_used",
    "lanes_available",
    "gpu_count",
    "vram_gb",
    "ram_gb",
    "monthly_cost",
    "currency",
}


def run(*argv: str) -> tuple[int, str, str]:
    return run_cli(argv)


def run_json(*argv: str) -> tuple[int, dict]:
    code, out, err = run(*argv, "--format", "json")
    assert err == "", err
    return code, json.loads(out)


def hosts(report: dict) -> dict[str, dict]:
    return {h["name"]: h for h in report["hosts"]}


def write(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path)


@pytest.fixture(autouse=True)
def _no_stack_resolver():
    """The plan checks alone: the resolver's own verdicts are tested by its helper's tests."""
    with REGISTRY.without("stack"):
        yield


def test_default_inventory_is_the_projects_reference_build():
    code, out, err = run()
    assert (code, err) == (0, "")
    assert out.startswith("deep-al  OK")
    for text in (
        "psu_headroom",
        "power budget",
        "max draw",
        "416 W",
        "lane map",
        "GPU 1 GeForce RTX 2070",
        "x16",
        "20 of 64 CPU lanes used",
    ):
        assert text in out
    assert "\033[" not in out  # no colour when stdout is not a terminal


def test_yaml_inventory_with_host_vars_and_group_vars_as_json():
    code, report = run_json("-i", YAML_DIR)
    assert code == 1  # four-2080 fails
    by_name = hosts(report)
    assert list(by_name) == ["deep-al", "two-2080", "four-2080", "ci", "bare"]
    assert {h: v["verdict"] for h, v in by_name.items()} == {
        "deep-al": "ok",
        "two-2080": "ok",
        "four-2080": "fail",
        "ci": "ok",
        "bare": "ok",
    }
    for host in report["hosts"]:
        assert set(host["summary"]) == SUMMARY_KEYS
        for check in host["checks"]:
            assert {"id", "status", "message"} <= set(check)
    assert by_name["two-2080"]["summary"]["max_draw_w"] == 681
    # two-2080 has no power block of its own: price and currency come from group_vars/all.yml.
    assert (
        by_name["two-2080"]["summary"]["monthly_cost"] > 0
        and by_name["two-2080"]["summary"]["currency"] == "EUR"
    )
    four = {c["id"]: c for c in by_name["four-2080"]["checks"]}
    assert four["psu_headroom"]["status"] == "fail" and four["psu_headroom"]["max_draw_w"] == 1131
    assert by_name["bare"]["declared"] is False and by_name["bare"]["checks"] == []
    assert by_name["ci"]["summary"]["gpu_count"] == 0


def test_limit_uses_ansible_patterns():
    code, report = run_json("-i", YAML_DIR, "--limit", "deep-al")
    assert code == 0 and [h["name"] for h in report["hosts"]] == ["deep-al"]
    code, report = run_json("-i", YAML_DIR, "--limit", "workstations:!four-2080")
    assert code == 0 and [h["name"] for h in report["hosts"]] == ["deep-al", "two-2080"]
    code, report = run_json("-i", YAML_DIR, "-l", "four*")
    assert code == 1 and [h["name"] for h in report["hosts"]] == ["four-2080"]


def test_limit_matching_nothing_is_bad_input():
    code, out, err = run("-i", YAML_DIR, "--limit", "nosuchhost")
    assert (code, out) == (2, "")
    assert err == "preflight: --limit: no host of " + YAML_DIR + " matches --limit 'nosuchhost'\n"


def test_ini_inventory_with_group_vars_and_host_override():
    code, report = run_json("-i", INI_DIR)
    by_name = hosts(report)
    assert code == 1  # four RTX 2070 spike past the 1000 W ATX 2 PSU (psu_transients, issue 12)
    assert by_name["lab1"]["verdict"] == "ok" and by_name["lab1"]["summary"]["max_draw_w"] == 416
    lab2 = {c["id"]: c["status"] for c in by_name["lab2"]["checks"]}
    assert lab2["psu_headroom"] == "warn" and lab2["ram_vs_vram"] == "warn"
    assert lab2["psu_transients"] == "fail"
    code, _ = run_json("-i", INI_DIR, "--strict")
    assert code == 1


def test_ini_host_line_variables(tmp_path):
    inventory = write(
        tmp_path,
        {
            "hosts": """\
        [ws]
        box1 hardware='{"gpus": [{"model": "RTX 2070", "count": 2}], "memory": {"gb": 32, "watts": 10}}'
        """
        },
    )
    code, report = run_json("-i", inventory)
    assert code == 0
    box = {c["id"]: c for c in report["hosts"][0]["checks"]}
    assert box["ram_vs_vram"]["vram_gb"] == 16 and box["ram_vs_vram"]["status"] == "ok"


def test_text_report_has_a_block_per_host_and_a_tally():
    code, out, _ = run("-i", YAML_DIR)
    assert code == 1
    assert "four-2080  FAIL" in out and "bare  OK" in out and "hardware not declared" in out
    assert out.rstrip().endswith("5 host(s): 4 ok, 0 warn, 1 fail")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"hosts.yml": BOX + "        gpus:\n          - {model: RTX 2070, count: two}\n"},
            "preflight: box1: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got 'two'",
        ),
        (
            {"hosts.yml": BOX + "        gpus: [{model: GeForce RTX 2070 Supr}]\n"},
            "preflight: box1: hardware.gpus[0].model: GPU 'GeForce RTX 2070 Supr' is not in the catalogue; "
            "give its watts, vram_gb and arch (arch: one of Maxwell, Pascal, Volta, Turing, Ampere, Ada, "
            "Hopper, Blackwell) in the inventory; closest catalogued: GeForce RTX 2070 SUPER",
        ),
        (
            {"hosts.yml": BOX + "        psu: {watts: -5}\n"},
            "preflight: box1: hardware.psu.watts: expected a number >= 1 and <= 20000, got -5",
        ),
        (
            {"hosts.yml": BOX + "        psu: {watts: 800, efficiency: diamond}\n"},
            "preflight: box1: hardware.psu.efficiency: unknown 80 PLUS class 'diamond'",
        ),
        (
            {"hosts.yml": BOX + "        motherboard: {gpu_slots: [16, 12], watts: 0}\n"},
            "preflight: box1: hardware.motherboard.gpu_slots[1]: "
            "expected a slot width of 1, 2, 4, 8 or 16 lanes, got 12",
        ),
        (
            {"hosts.yml": "all:\n  hosts:\n    box1:\n      hardware: [1, 2]\n"},
            "preflight: box1: hardware: expected a mapping, got a list",
        ),
        (
            {"hosts.yml": "all:\n  hosts:\n    box1:\n", "host_vars/box1.yml": "hardware:\n  gpus: [\n"},
            "preflight: box1: host_vars/group_vars: Syntax Error while loading YAML",
        ),
        (
            {
                "hosts.yml": "all:\n  hosts:\n    box1:\n",
                "group_vars/all.yml": "hardware: {memory: {gb: '{{ ram }}', watts: 5}}\n",
            },
            "preflight: box1: hardware: 'ram' is undefined",
        ),
        ({"hosts.yml": "all:\n  hosts:\n    box1: {x: [\n"}, "preflight: -i: cannot read inventory"),
    ],
)
def test_bad_input_is_one_line_naming_host_and_path_with_exit_2(tmp_path, files, expected):
    code, out, err = run("-i", write(tmp_path, files))
    assert code == 2 and out == ""
    assert err.startswith(expected), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_inventory_is_bad_input(tmp_path):
    code, _, err = run("-i", str(tmp_path / "nope"))
    assert code == 2 and err == f"preflight: -i: inventory '{tmp_path / 'nope'}' does not exist\n"


def test_unexpected_errors_are_one_line_without_traceback(monkeypatch):
    def boom(plans, hostvars=(), limit=None):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("dlrig.output.document.plan_document", boom)
    code, out, err = run()
    assert code == 2 and out == ""
    assert err.startswith("preflight: unexpected error (RuntimeError: kaboom)") and err.count("\n") == 1


def test_script_runs_as_a_program_with_exit_codes_and_no_traceback(tmp_path):
    script = str(ROOT / "scripts" / "preflight.py")
    ok = subprocess.run(
        [sys.executable, script, "-i", YAML_DIR, "--limit", "deep-al", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["hosts"][0]["name"] == "deep-al"
    bad = write(
        tmp_path,
        {"hosts.yml": "all:\n  hosts:\n    box1:\n      hardware: {gpus: [{model: RTX 2070, count: two}]}\n"},
    )
    failed = subprocess.run([sys.executable, script, "-i", bad], capture_output=True, text=True, check=False)
    assert failed.returncode == 2 and failed.stdout == ""
    assert (
        failed.stderr
        == "preflight: box1: hardware.gpus[0].count: expected a whole number >= 1 and <= 64, got 'two'\n"
    )
    fail = subprocess.run(
        [sys.executable, script, "-i", YAML_DIR, "--limit", "four-2080"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fail.returncode == 1 and "Traceback" not in fail.stderr


SYSTEM_PYTHON = Path("/usr/bin/python3")


def _lacks_ansible(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-I", "-c", "import ansible"], capture_output=True, check=False)
    return probe.returncode != 0


@pytest.mark.skipif(not _lacks_ansible(SYSTEM_PYTHON), reason="needs a system python3 without Ansible")
def test_script_reexecs_into_the_venv_or_prints_a_hint(tmp_path):
    script = str(ROOT / "scripts" / "preflight.py")
    # With the project's .venv next to it: re-exec there and produce the real report.
    reexec = subprocess.run(
        [str(SYSTEM_PYTHON), "-I", script, "--limit", "deep-al", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert reexec.returncode in (0, 1), reexec.stderr
    assert json.loads(reexec.stdout)["hosts"][0]["name"] == "deep-al"
    # A copy without a .venv: one line telling the user what to run.
    (tmp_path / "scripts").mkdir()
    copy = tmp_path / "scripts" / "preflight.py"
    copy.write_text(Path(script).read_text())
    bootstrap = ROOT / "scripts" / "_bootstrap.py"  # the venv step the scripts share
    (tmp_path / "scripts" / bootstrap.name).write_text(bootstrap.read_text())
    hint = subprocess.run([str(SYSTEM_PYTHON), "-I", str(copy)], capture_output=True, text=True, check=False)
    assert hint.returncode == 2 and hint.stdout == ""
    assert hint.stderr.count("\n") == 1 and "bin/dlrig preflight" in hint.stderr


def test_ansible_warnings_never_add_lines_to_an_error_and_are_one_line_each_otherwise(tmp_path):
    # As a program: Ansible's own display would print "[WARNING]: Could not match supplied host pattern"
    # before dlrig's error, and a duplicate key's warning over three lines.
    script = str(ROOT / "scripts" / "preflight.py")
    nomatch = subprocess.run([sys.executable, script, "-i", YAML_DIR, "--limit", "nomatch"],
                             capture_output=True, text=True, check=False)
    assert nomatch.returncode == 2
    assert nomatch.stderr == f"preflight: --limit: no host of {YAML_DIR} matches --limit 'nomatch'\n"
    reference = (ROOT / "inventory/host_vars/deep-al.yml").read_text()
    inventory = write(tmp_path, {"hosts": "box1\n",
                                 "host_vars/box1.yml": reference + "power: {price_per_kwh: 0.30}\n"})
    duplicate = subprocess.run([sys.executable, script, "-i", f"{inventory}/hosts"],
                               capture_output=True, text=True, check=False)
    assert duplicate.returncode == 0, duplicate.stderr
    assert duplicate.stderr.count("\n") == 1
    assert duplicate.stderr.startswith("preflight: warning: While constructing a mapping from ")
    assert "found a duplicate dict key (power)" in duplicate.stderr


def _vaulted_inventory(tmp_path: Path) -> tuple[str, Path]:
    """A one-host inventory whose group_vars file is vault-encrypted and whose price is an inline vault."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(b"s3cret"))])
    reference = (ROOT / "inventory/host_vars/deep-al.yml").read_text()
    hardware = reference[: reference.index("power:")]  # the reference build without power/stack
    price = vault.encrypt("0.30").decode()
    files = {
        "hosts": "box1\n",
        "host_vars/box1.yml": hardware,
        "group_vars/all/power.yml": "power:\n  currency: EUR\n  price_per_kwh: !vault |\n"
        + textwrap.indent(price, "    "),
    }
    inventory = write(tmp_path, files)
    encrypted = tmp_path / "group_vars/all/os.yml"
    encrypted.write_bytes(vault.encrypt('os: {distribution: Ubuntu, release: "18.04"}\n'))
    password = tmp_path / "vault-pass"
    password.write_text("s3cret\n")
    return f"{inventory}/hosts", password


def test_vaulted_inventories_are_read_with_the_vault_password_as_a_playbook_run_would(tmp_path, monkeypatch):
    inventory, password = _vaulted_inventory(tmp_path)
    code, out, err = run("-i", inventory)
    assert code == 2 and out == ""
    assert err.startswith("preflight: box1: host_vars/group_vars: ") and "vault" in err
    assert err.count("\n") == 1
    code, report = run_json("-i", inventory, "--vault-password-file", str(password))
    assert code == 0, report
    assert report["hosts"][0]["summary"]["monthly_cost"] == 96.16  # the vaulted price, decrypted
    # ansible.cfg's vault_password_file (or ANSIBLE_VAULT_PASSWORD_FILE, read when Ansible starts) counts too.
    import ansible.constants as C

    monkeypatch.setattr(C, "DEFAULT_VAULT_PASSWORD_FILE", str(password))
    assert run_json("-i", inventory)[0] == 0


def test_a_wrong_vault_password_is_one_line_naming_the_variable(tmp_path):
    inventory, password = _vaulted_inventory(tmp_path)
    (tmp_path / "group_vars/all/os.yml").unlink()  # only the inline vault is left
    password.write_text("wrong\n")
    code, out, err = run("-i", inventory, "--vault-password-file", str(password))
    assert (code, out) == (2, "")
    assert err.startswith("preflight: box1: power: cannot decrypt a vaulted value (") and err.count("\n") == 1
    assert err.rstrip().endswith("give --vault-password-file or --vault-id, as to ansible-playbook")


def test_extra_vars_win_over_the_inventory_as_in_a_playbook_run(tmp_path):
    # The planned build given on the command line, as `bin/dlrig provision -e @plan.yml` passes it on.
    plan = tmp_path / "plan.yml"
    plan.write_text("power: {price_per_kwh: 0.60, currency: EUR, headroom_pct: 10}\n")
    code, report = run_json("-i", YAML_DIR, "--limit", "deep-al", "-e", f"@{plan}")
    assert code == 0
    assert report["hosts"][0]["summary"]["monthly_cost"] == 192.33  # twice the reference's 96.16(5)
    code, report = run_json("-i", YAML_DIR, "--limit", "deep-al",
                            "-e", '{"power": {"price_per_kwh": 0.15, "currency": "EUR"}}')
    assert report["hosts"][0]["summary"]["monthly_cost"] == 48.08


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/tmp/plan.yml",
         "preflight: -e: '/tmp/plan.yml': prepend a file name with '@', e.g. -e @/tmp/plan.yml\n"),
        ("[1, 2]", "preflight: -e: '[1, 2]': expected a mapping of variables\n"),
    ],
)
def test_bad_extra_vars_are_one_line(value, message):
    code, out, err = run("-i", YAML_DIR, "-e", value)
    assert (code, out, err) == (2, "", message)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"bad.ini": "[grp\nh1\n"},
         "not a valid INI inventory: check the [group] headers and the host lines"),
        ({"hosts.yml": 'all:\n  hosts:\n    h1:\n      n: "{{ n }}"\n      hardware: "{{ n }}"\n'},
         "preflight: h1: hardware: recursive loop detected in template string: {{ n }}. "),
        ({"hosts.yml": 'all:\n  hosts:\n    h1:\n      hardware: "{{ x }"\n'},
         "preflight: h1: hardware: template error while templating string: unexpected '}'. String: {{ x }\n"),
    ],
)
def test_unreadable_inventories_and_templates_say_it_once_on_one_line(tmp_path, files, message):
    source = str(tmp_path / next(iter(files)))
    write(tmp_path, files)
    code, out, err = run("-i", source)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert "An unhandled exception occurred" not in err
