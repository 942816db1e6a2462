"""Committed files name no machine: no file:// URL, no path of the machine they were made on, and no
package-index host other than the documented defaults (issue 11).

Tests and Molecule take their mirrors from the environment at run time (tests/mirrors.py,
molecule/resources/pip_mirrors.py). A committed string that must stay (a hostile-input case, an example in
a message) is listed in tests/committed-files-allowlist.txt with its reason.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = ROOT / "tests" / "committed-files-allowlist.txt"
# The rules themselves (this file and the allow-list) name what they look for.
RULES = ("tests/test_committed_files.py", "tests/committed-files-allowlist.txt")

# Hosts a committed URL may name, each a documented default or a citation (host: reason).
ALLOWED_HOSTS = {
    "developer.download.nvidia.com": "NVIDIA's CUDA repository and key (nvidia_driver_repo_* defaults)",
    "github.com": "python-build-standalone's releases (python_runtime default); sources cited in data",
    "pypi.org": "PyPI, pip's and uv's own default index",
    "download.pytorch.org": "PyTorch's per-CUDA-variant indexes (pytorch_env_torch_index_url default)",
    "deb.debian.org": "Debian's archive: build-images.sh's fallback when the host's apt names none",
    "localhost": "the loopback: JupyterLab's address at the end of the SSH tunnel the docs show",
    "127.0.0.1": "the test mirrors the suite serves on the loopback (apt mirror, stalling index)",
    "developer.nvidia.com": "a source cited in dlrig/data/catalogue.yml (never downloaded from)",
    "pci-ids.ucw.cz": "a source cited in dlrig/data/catalogue.yml (never downloaded from)",
    "json-schema.org": "the JSON Schema dialect named by docs/preflight.schema.json's $schema",
}
# Hosts cited as the source of a figure or a decision (in data files, docs and comments): never downloaded
# from, so they name no machine; the citation is the guide's rule ("cite the sources of every fact").
CITED_HOSTS = {
    "slurm.schedmd.com": "Slurm's upgrade guide (dlrig/cluster.py's compatibility window, docs/decisions.md)",
    "docs.nvidia.com": "nvidia-smi's documentation (roles/gpu_verify/files/power_sampler.py)",
    "edc.intel.com": "Intel's ATX 3 design guide (dlrig/data/power_fit.yml)",
    "www.tweaktown.com": "measured GPU power excursions (dlrig/data/power_fit.yml)",
    "www.slashgear.com": "GPU transient figures (dlrig/data/power_fit.yml)",
    "hardzone.es": "GPU transient figures (dlrig/data/power_fit.yml)",
    "loomi.fyi": "the 80 % continuous-load rule (dlrig/data/power_fit.yml)",
    "hardwaresecrets.com": "ATX expansion slot figures (dlrig/data/power_fit.yml)",
    "www.tomshardware.com": "GPU transient measurements (dlrig/data/power_fit.yml)",
    "www.heise.de": "GPU transient measurements (dlrig/data/power_fit.yml)",
    "geektopia.es": "GPU card dimensions (dlrig/data/power_fit.yml)",
    "labs.anandtech.com": "the ATX 3 200 % excursion line (dlrig/data/power_fit.yml)",
    "hwbusters.com": "measured RTX 4090 power peaks (dlrig/data/power_fit.yml)",
    "www.ubuntu.com": "a URL of Ubuntu 18.04's own /etc/os-release (molecule/reference/prepare.yml)",
    "help.ubuntu.com": "a URL of Ubuntu 18.04's own /etc/os-release (molecule/reference/prepare.yml)",
    "bugs.launchpad.net": "a URL of Ubuntu 18.04's own /etc/os-release (molecule/reference/prepare.yml)",
}
# A host computed at run time (a Jinja expression, a %-format, a shell variable) names no machine.
COMPUTED_HOST = re.compile(r"^(\{\{|%|\$)")
# Private addresses of the networks the cluster scenario creates itself (a Docker network on its own bridge).
TEST_NETWORK = re.compile(r"^10\.214\.14\.\d+$")
# Names reserved for documentation and tests (RFC 2606, RFC 6761): they never resolve.
RESERVED = re.compile(r"(^|\.)(example|invalid|test)$|^example\.(com|org|net)$")
# Paths the project itself creates on the hosts it provisions or in its test containers (prefix: reason).
ALLOWED_PATHS = {
    "/opt/dlrig": "the product's install prefix on provisioned hosts (envs, Pythons, tools)",
    "/opt/dlrig-fixtures": "made by the gpu-upgrade scenario inside its container",
    "/opt/dlrig-fakes": "made by the driver-policies scenario inside its container",
    "/tmp/dlrig-": "scratch files the Molecule tests create inside their containers",
    "/var/tmp/dlrig-": "work directories the suite's scripts create (Molecule engine, stall markers)",
}

URL = re.compile(r"\b(?P<scheme>https?|ftp)://(?:[^\s/@\"'<>`]*@)?(?P<host>[^\s/:?#\"'<>`)\]}]*)")
FILE_URL = re.compile(r"\bfile://[^\s`'\")\]]+")
# A path below one of these directories (a bare "/opt" names the directory, not a machine's file).
MACHINE_PATH = re.compile(r"(?<![\w.~$}/-])/(?:opt|tmp|root|home|var/tmp)/[^\s\"'`<>),;\]]+")


@cache
def committed() -> tuple[str, ...]:
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return tuple(p for p in done.stdout.split("\0") if p)


@cache
def allowlist() -> frozenset[tuple[str, str]]:
    """``(file, exact string)`` pairs of tests/committed-files-allowlist.txt; every entry needs a reason."""
    pairs = set()
    for number, line in enumerate(ALLOWLIST.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(" | ")]
        assert len(fields) == 3 and all(fields), f"{ALLOWLIST.name}:{number}: want 'file | string | reason'"
        pairs.add((fields[0], fields[1]))
    return frozenset(pairs)


def findings(path: str, text: str) -> list[str]:
    """What in ``text`` names a machine, each as ``path: string (why)``."""
    found = []
    for m in FILE_URL.finditer(text):
        found.append((m.group(0), "file:// URL"))
    for m in URL.finditer(text):
        host = m.group("host").lower()
        if (host and host not in ALLOWED_HOSTS and host not in CITED_HOSTS and not RESERVED.search(host)
                and not COMPUTED_HOST.search(host) and not TEST_NETWORK.match(host)):
            found.append((m.group(0), f"host {host} is not an allowed default"))
    for m in MACHINE_PATH.finditer(text):
        value = m.group(0)
        if not any(value == p or value.startswith(p if p.endswith("-") else p + "/") or
                   (p.endswith("-") and value.startswith(p)) for p in ALLOWED_PATHS):
            found.append((value, "a path under /opt, /tmp, /root, /home or /var/tmp"))
    return [f"{path}: {value!r} ({why})" for value, why in found if (path, value) not in allowlist()]


def _text(path: str) -> str | None:
    data = (ROOT / path).read_bytes() if (ROOT / path).is_file() else b""
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_committed_file_names_a_machine():
    offenders = []
    for path in committed():
        text = _text(path)
        if text is not None and path not in RULES:
            offenders += findings(path, text)
    assert not offenders, "committed files name a machine:\n" + "\n".join(offenders)


def test_every_allowlist_entry_is_still_needed():
    # A stale entry would hide the next offender of the same text.
    texts = {path: _text(path) or "" for path in committed()}
    stale = [f"{f} | {s}" for f, s in sorted(allowlist()) if s not in texts.get(f, "")]
    assert not stale, "allow-list entries that match nothing:\n" + "\n".join(stale)


def test_the_check_sees_each_kind_of_offender():
    text = "\n".join([
        "index: file:///srv/pypi/simple",
        "links: /opt/wheels",
        "home: /home/someone/cache",
        "url: https://pypi.corp.lan/simple",
        "tmp: /tmp/build-1234/out.txt",
        "var: /var/tmp/mirror",
        "fine: https://pypi.org/simple https://mirror.example/simple /opt/dlrig/envs http://127.0.0.1:8765/",
        "prose: a `file://` index; https://user:token@host.example/simple; /opt, /tmp and /home themselves",
    ])
    values = [line.split(": ", 1)[1].split(" (")[0] for line in findings("x", text)]
    assert values == ["'file:///srv/pypi/simple'", "'https://pypi.corp.lan'", "'/opt/wheels'",
                      "'/home/someone/cache'", "'/tmp/build-1234/out.txt'", "'/var/tmp/mirror'"]
