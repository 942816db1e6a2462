"""The preflight never prints a vaulted value: an error about one names it ("a vaulted value")."""

from __future__ import annotations

import textwrap
from pathlib import Path

from clirun import run_cli

from dlrig.errors import InputError, remember_vaulted, scrub

ROOT = Path(__file__).resolve().parents[1]
SECRET = "SECRET-TOKEN-abc123"


def vaulted_inventory(tmp_path: Path, memory: str) -> tuple[Path, Path]:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(b"s3cret"))])
    reference = (ROOT / "inventory/host_vars/deep-al.yml").read_text()
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts").write_text("box1\n")
    (tmp_path / "host_vars/box1.yml").write_text(reference)
    inline = textwrap.indent(vault.encrypt(SECRET).decode(), "  ")
    (tmp_path / "group_vars/all.yml").write_text(f"dlrig_site_token: !vault |\n{inline}")
    extra = tmp_path / "extra.yml"
    extra.write_text(f"hardware:\n  memory:\n    gb: {memory}\n    watts: 20\n")
    password = tmp_path / "vault-pass"
    password.write_text("s3cret\n")
    return extra, password


def test_an_inline_vaulted_value_in_the_wrong_place_is_named_not_printed(tmp_path: Path) -> None:
    # hardware.memory.gb given as a vaulted string, directly (an inline !vault in -e is not YAML that
    # Ansible's -e reads, so the value comes from group_vars through Jinja, as a site would share it).
    extra, password = vaulted_inventory(tmp_path, '"{{ dlrig_site_token }}"')
    code, out, err = run_cli(["-i", str(tmp_path / "hosts"), "--vault-password-file", str(password),
                              "-e", f"@{extra}"])
    assert code == 2 and out == ""
    assert SECRET not in err
    assert err.count("\n") == 1
    assert "hardware.memory.gb" in err and "a vaulted value" in err


def test_scrub_hides_a_vaulted_value_inside_any_message() -> None:
    remember_vaulted("hunter2-long")
    assert str(InputError("box", "stack", "unknown stack 'hunter2-long'")) == (
        "box: stack: unknown stack '<a vaulted value>'")
    assert scrub("nothing secret") == "nothing secret"


def test_an_inline_vault_in_the_hardware_itself_is_named_not_printed(tmp_path: Path) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(b"s3cret"))])
    reference = (ROOT / "inventory/host_vars/deep-al.yml").read_text()
    inline = textwrap.indent(vault.encrypt(SECRET).decode(), "        ")
    memory = f"  memory:\n    watts: 11\n    gb: !vault |\n{inline}"
    assert "  memory: {gb: 16, watts: 11}\n" in reference
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "hosts").write_text("box1\n")
    (tmp_path / "host_vars/box1.yml").write_text(reference.replace("  memory: {gb: 16, watts: 11}\n", memory))
    (tmp_path / "vault-pass").write_text("s3cret\n")
    args = ["-i", str(tmp_path / "hosts"), "--vault-password-file", str(tmp_path / "vault-pass")]
    code, out, err = run_cli([*args, "--format", "json"])
    assert code == 2
    assert SECRET not in err + out
    assert err == ("preflight: box1: hardware.memory.gb: expected a number >= 0.5 and <= 65536, "
                   "got a vaulted value\n")
