"""python_env's uv installer (issue 11): the command it runs, the pinned uv it installs on a host, and a
real build with the controller's uv from the package mirror the environment names (tests/mirrors.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from mirrors import package_mirror, serves
from test_python_env_module import SIX_LOCK, _play

from dlrig.locks import find_uv

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "collections/ansible_collections/dlrig/rig/plugins/modules/python_env.py"
spec = importlib.util.spec_from_file_location("dlrig_python_env_uv", MODULE)
assert spec and spec.loader
pe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pe)
MIRROR = package_mirror()

PARAMS = {
    "installer": "uv", "uv": "", "uv_version": "0.13.9", "uv_hashes": [], "tools_dir": "/opt/dlrig/tools",
    "cache_dir": "/var/cache/dlrig", "link_mode": "hardlink", "isolated": True, "pip_timeout": 60, "cert": "",
    "index_url": "https://mirror.example/simple", "extra_index_urls": ["https://more.example/simple"],
    "find_links": ["https://wheels.example/"], "trusted_hosts": ["mirror.example"],
}


def _module(**params: object) -> SimpleNamespace:
    return SimpleNamespace(params={**PARAMS, **params})


def test_uv_installs_exact_hashed_pins_only_from_wheels_with_the_cache_and_mirrors():
    cmd = pe.uv_command("/e/.staging-x", _module(), "/t/uv")
    assert cmd[:3] == ["/t/uv", "pip", "install"]
    assert cmd[cmd.index("--python") + 1] == "/e/.staging-x/bin/python"
    for flag in ("--require-hashes", "--no-deps", "--compile-bytecode", "--no-config"):
        assert flag in cmd
    assert cmd[cmd.index("--only-binary") + 1] == ":all:"
    assert cmd[cmd.index("--cache-dir") + 1] == "/var/cache/dlrig/uv"
    assert cmd[cmd.index("--link-mode") + 1] == "hardlink"
    assert cmd[cmd.index("--index-url") + 1] == "https://mirror.example/simple"
    assert cmd[cmd.index("--extra-index-url") + 1] == "https://more.example/simple"
    assert cmd[cmd.index("--find-links") + 1] == "https://wheels.example/"
    assert cmd[cmd.index("--allow-insecure-host") + 1] == "mirror.example"
    assert cmd[-2:] == ["-r", "/e/.staging-x/dlrig-lock.txt"]
    # No "sync", no "compile": nothing is resolved on the host.
    assert "compile" not in cmd and "sync" not in cmd


def test_uv_without_a_cache_dir_and_not_isolated():
    cmd = pe.uv_command("/e/s", _module(cache_dir="", isolated=False, index_url=""), "uv")
    assert "--no-cache" in cmd and "--cache-dir" not in cmd and "--no-config" not in cmd
    assert "--index-url" not in cmd


def test_uv_environment_carries_the_cert_and_timeout_and_drops_host_uv_settings(monkeypatch):
    monkeypatch.setenv("UV_INDEX_URL", "https://elsewhere.example/simple")
    env = pe.uv_env(_module(cert="/etc/ssl/certs/ca-certificates.crt", pip_timeout=90))
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["UV_HTTP_TIMEOUT"] == "90" and "UV_INDEX_URL" not in env
    assert pe.uv_env(_module(isolated=False))["UV_INDEX_URL"] == "https://elsewhere.example/simple"


def test_pip_uses_the_persistent_cache_when_one_is_set():
    cmd = pe.pip_command("/e/s", _module(installer="pip"))
    assert cmd[cmd.index("--cache-dir") + 1] == "/var/cache/dlrig/pip" and "--no-cache-dir" not in cmd
    assert "--no-cache-dir" in pe.pip_command("/e/s", _module(installer="pip", cache_dir=""))


@pytest.mark.parametrize(("params", "name"), [
    ({"uv_version": "latest"}, "uv_version"),
    ({"uv_hashes": ["abc"]}, "uv_hashes"),
    ({"tools_dir": "relative/tools"}, "tools_dir"),
    ({"cache_dir": "/var/cache/../etc"}, "cache_dir"),
])
def test_bad_uv_parameters_are_refused_by_name(params, name):
    base = {"name": "small", "prefix": "/opt/dlrig/envs", "python": "/usr/bin/python3", "imports": [],
            **PARAMS, **params}
    with pytest.raises(pe.BuildError, match=f"^{name}"):
        pe.check_params(base)


def _fake_uv_wheel(folder: Path, version: str) -> str:
    """A wheel named uv whose only file is an executable bin/uv script; returns its SHA-256."""
    script = b"#!/bin/sh\necho 'uv " + version.encode() + b" (fake)'\n"
    name = f"uv-{version}.dist-info"
    record = "".join(f"{p},,\n" for p in (f"uv-{version}.data/scripts/uv", f"{name}/METADATA",
                                          f"{name}/WHEEL", f"{name}/RECORD"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        info = zipfile.ZipInfo(f"uv-{version}.data/scripts/uv")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        wheel.writestr(info, script)
        wheel.writestr(f"{name}/METADATA", f"Metadata-Version: 2.1\nName: uv\nVersion: {version}\n")
        wheel.writestr(f"{name}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                        "Tag: py3-none-any\n")
        wheel.writestr(f"{name}/RECORD", record)
    data = buffer.getvalue()
    (folder / f"uv-{version}-py3-none-any.whl").write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_the_pinned_uv_is_installed_once_from_the_mirrors_with_its_hash(tmp_path):
    wheels, empty = tmp_path / "wheels", tmp_path / "simple"
    wheels.mkdir()
    empty.mkdir()
    digest = _fake_uv_wheel(wheels, "0.13.9")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    module = _module(tools_dir=str(tmp_path / "tools"), index_url=empty.as_uri(), extra_index_urls=[],
                     find_links=[str(wheels)], trusted_hosts=[], uv_hashes=[digest])
    uv = pe.ensure_uv(module, str(venv))
    assert uv == str(tmp_path / "tools/uv-0.13.9/bin/uv")
    assert subprocess.run([uv], capture_output=True, text=True, check=True).stdout == "uv 0.13.9 (fake)\n"
    assert not list((tmp_path / "tools").glob("*.tmp-*"))
    assert not (venv / "dlrig-uv-requirements.txt").exists()
    # Present: never installed again (a wrong hash would fail otherwise).
    assert pe.ensure_uv(_module(**{**module.params, "uv_hashes": ["0" * 64]}), str(venv)) == uv


def test_a_uv_wheel_with_another_hash_is_refused_and_leaves_nothing(tmp_path):
    wheels, empty = tmp_path / "wheels", tmp_path / "simple"
    wheels.mkdir()
    empty.mkdir()
    _fake_uv_wheel(wheels, "0.13.9")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    module = _module(tools_dir=str(tmp_path / "tools"), index_url=empty.as_uri(), extra_index_urls=[],
                     find_links=[str(wheels)], trusted_hosts=[], uv_hashes=["0" * 64])
    with pytest.raises(pe.BuildError) as err:
        pe.ensure_uv(module, str(venv))
    assert "DO NOT MATCH THE HASHES" in err.value.output
    assert not (tmp_path / "tools").exists() or not any((tmp_path / "tools").iterdir())


def test_the_role_pins_uv_with_the_hashes_of_its_linux_wheels():
    defaults = yaml.safe_load((ROOT / "roles/python_env/defaults/main.yml").read_text())
    assert defaults["python_env_installer"] == "uv"
    assert defaults["python_env_cache_dir"] == "/var/cache/dlrig"
    assert defaults["python_env_uv_version"] == "0.13.9"
    # The controller's uv (requirements-controller.txt) is the same release.
    assert "uv==0.13.9\n" in (ROOT / "requirements-controller.txt").read_text()
    assert len(defaults["python_env_uv_hashes"]) >= 2
    assert all(len(h) == 64 for h in defaults["python_env_uv_hashes"])


needs_six = pytest.mark.skipif(not serves(MIRROR, "six"),
                               reason="the package mirror (tests/mirrors.py) lacks six")


@needs_six
def test_a_uv_build_switches_in_and_a_rebuild_comes_from_the_cache(tmp_path):
    uv = find_uv()
    cache = tmp_path / "cache"
    first = _play(tmp_path, SIX_LOCK, installer="uv", uv=uv, cache_dir=str(cache))
    assert first["rc"] == 0 and first["changed"], first["out"]
    link = tmp_path / "envs" / "small"
    assert subprocess.run([str(link / "bin" / "python"), "-c", "import six"], check=False).returncode == 0
    assert (cache / "uv").is_dir()
    # Another lock text (a new key), same files: built again, the wheel linked from the cache.
    second = _play(tmp_path, SIX_LOCK + "# rebuilt\n", installer="uv", uv=uv, cache_dir=str(cache))
    assert second["rc"] == 0 and second["changed"], second["out"]
    assert os.readlink(link) == f"small-{second['key']}"
    again = _play(tmp_path, SIX_LOCK + "# rebuilt\n", installer="uv", uv=uv, cache_dir=str(cache))
    assert again["rc"] == 0 and not again["changed"], again["out"]


@needs_six
def test_a_uv_build_refuses_a_tampered_lock_and_keeps_the_previous_env(tmp_path):
    uv = find_uv()
    good = _play(tmp_path, SIX_LOCK, installer="uv", uv=uv)
    assert good["rc"] == 0, good["out"]
    bad = _play(tmp_path, SIX_LOCK.replace("4721f391ed90541f", "4721f391ed90541e"), installer="uv", uv=uv)
    assert bad["rc"] != 0 and "Hash mismatch" in bad["out"], bad["out"]
    assert os.readlink(tmp_path / "envs" / "small") == f"small-{good['key']}"
    assert not list((tmp_path / "envs").glob(".staging-*"))
    assert json.loads((tmp_path / "envs" / "small" / ".dlrig-env.json").read_text())["key"] == good["key"]
