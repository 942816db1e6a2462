"""roles/nvidia_driver: the downloaded repository key is trusted only when it is the pinned key.

files/dlrig-key-fingerprint reads the primary-key fingerprints of a key file (compared here with what
gpg printed for the fixture keys in tests/fixtures/keys, made with `gpg --quick-generate-key`), and the
role's own verification tasks (tasks/repository.yml) run on localhost: the pinned key passes and stays,
any other file is removed and stops the run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLE = ROOT / "roles" / "nvidia_driver"
SCRIPT = ROLE / "files" / "dlrig-key-fingerprint"
KEYS = ROOT / "tests" / "fixtures" / "keys"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# As `gpg --with-colons --show-keys FILE` printed them (fpr lines).
RSA = "82FB87BC5FC69822A2520130BA4869ED60CB0269"
ED25519 = "8011ED1FD200E86F56E0E3B6969DF5BB7ECFA5D5"


def fingerprints(path: Path) -> tuple[int, dict[str, Any]]:
    run = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True,
                         check=False)
    return run.returncode, json.loads(run.stdout)


def test_the_fingerprints_are_gpg_s_for_armoured_and_binary_files() -> None:
    assert fingerprints(KEYS / "one-key.asc") == (0, {"primary": [RSA]})
    assert fingerprints(KEYS / "ed25519-key.gpg") == (0, {"primary": [ED25519]})
    assert fingerprints(KEYS / "two-keys.gpg") == (0, {"primary": [RSA, ED25519]})


BROKEN_ARMOUR = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----\n"


@pytest.mark.parametrize("content", [b"", b"<html>404</html>", b"\x99\x01", b"\x00" * 100, BROKEN_ARMOUR])
def test_a_file_that_is_not_a_key_is_an_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "key").write_bytes(content)
    code, out = fingerprints(tmp_path / "key")
    assert code == 1 and set(out) == {"error"}


def test_the_default_pins_nvidia_s_key() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    fingerprint = defaults["nvidia_driver_repo_keyring_fingerprint"]
    assert fingerprint == "EB693B3035CD5710E231E123A4B469963BF863CC"
    # The key id the default URL names (3bf863cc.pub) is the fingerprint's last 8 hex digits.
    assert defaults["nvidia_driver_repo_keyring_url"].endswith(f"{fingerprint[-8:].lower()}.pub")


def verify(tmp_path: Path, key: Path | None, pinned: str) -> tuple[int, str]:
    """The role's verification tasks against ``key`` installed at the keyring path."""
    keyring = tmp_path / "keyring.asc"
    if key is not None:
        shutil.copy(key, keyring)
    (tmp_path / "source.list").write_text("deb [signed-by=keyring.asc] http://mirror.invalid/ /\n")
    tasks = yaml.safe_load((ROLE / "tasks" / "repository.yml").read_text())
    start = next(i for i, t in enumerate(tasks) if t["name"] == "Read the fingerprint of the repository key")
    check = [dict(t) for t in tasks[start:start + 2]]
    script = dict(check[0]["ansible.builtin.script"])
    script["cmd"] = script["cmd"].replace("dlrig-key-fingerprint", str(SCRIPT), 1)
    check[0]["ansible.builtin.script"] = script
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.set_fact": {"nvidia_driver_repo_key_download": {"changed": False}}}, *check]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    run = subprocess.run([str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                          "-e", json.dumps({"ansible_python_interpreter": sys.executable,
                                            "nvidia_driver_repo_keyring_path": str(keyring),
                                            # the source that names the key (never the host's /etc/apt)
                                            "nvidia_driver_repo_sources_list": str(tmp_path / "source.list"),
                                            "nvidia_driver_repo_keyring_url": "http://mirror.invalid/3bf863cc.pub",
                                            "nvidia_driver_repo_keyring_fingerprint": pinned})],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    return run.returncode, run.stdout + run.stderr


def test_the_pinned_key_passes_and_stays(tmp_path: Path) -> None:
    code, out = verify(tmp_path, KEYS / "one-key.asc", RSA.lower()[:20] + " " + RSA[20:])
    assert code == 0, out
    assert (tmp_path / "keyring.asc").exists()


@pytest.mark.parametrize(("key", "found"), [
    ("one-key.asc", RSA),                  # another key than the pinned one: a mirror's, or an attacker's
    ("two-keys.gpg", f"{RSA}, {ED25519}"),  # the pinned key plus one more: apt would trust both
])
def test_another_key_is_removed_and_stops_the_run(tmp_path: Path, key: str, found: str) -> None:
    pinned = ED25519 if key == "one-key.asc" else RSA
    code, out = verify(tmp_path, KEYS / key, pinned)
    assert code == 2
    assert "is not the pinned key" in out and f"the file holds {found}" in out
    assert not (tmp_path / "keyring.asc").exists()
    assert not (tmp_path / "source.list").exists()  # no source left naming a missing key


def test_a_page_instead_of_a_key_is_removed_and_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "page").write_text("<html>captive portal</html>\n")
    code, out = verify(tmp_path, tmp_path / "page", RSA)
    assert code == 2 and "no readable key" in out
    assert not (tmp_path / "keyring.asc").exists()


def test_an_empty_pin_skips_the_check(tmp_path: Path) -> None:
    code, out = verify(tmp_path, KEYS / "two-keys.gpg", "")
    assert code == 0, out
    assert (tmp_path / "keyring.asc").exists()


def test_the_script_runs_under_python_3_6() -> None:
    import ast

    ast.parse(SCRIPT.read_text(), feature_version=(3, 6))
    assert SCRIPT.read_text().startswith("#!/usr/bin/python3\n")
