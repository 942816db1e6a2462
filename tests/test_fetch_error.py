"""One message per failed download (plugins/module_utils/fetch_error.py, the filter
dlrig.rig.fetch_failure and the python_env module): what was reached, the variable, the likely cause;
never the raw `urlopen error`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.dlrig.rig.plugins.filter.fetch import fetch_failure  # noqa: E402
from ansible_collections.dlrig.rig.plugins.module_utils import fetch_error as fe  # noqa: E402

KEY_URL = "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/3bf863cc.pub"

# Error texts as get_url, apt_repository (apt's fetcher), pip and uv print them.
CASES = [
    ("Request failed: <urlopen error [Errno -2] Name or service not known>", "name does not resolve (DNS)"),
    ("Failed to update apt cache: W:Failed to fetch http://mirror.invalid/InRelease  "
     "Temporary failure resolving 'mirror.invalid', W:Some index files failed to download.",
     "name does not resolve (DNS)"),
    ("Request failed: <urlopen error [Errno 111] Connection refused>", "connection refused"),
    ("Failed to update apt cache: W:Failed to fetch http://127.0.0.1:8926/InRelease  Could not connect to "
     "127.0.0.1:8926 (127.0.0.1). - connect (111: Connection refused)", "connection refused"),
    ("Request failed: <urlopen error [Errno 101] Network is unreachable>", "network unreachable"),
    ("Request failed: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
     "unable to get local issuer certificate (_ssl.c:1006)>", "TLS failure"),
    ("HTTP Error 404: Not Found", "not found (404)"),
    ("E:The repository 'http://mirror.example/debian13 Release' does not have a Release file.",
     "not found (404)"),
    ("pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPConnectionPool(host='127.0.0.1', port=8876): Read "
     "timed out.", "stalled or dropped"),
    ("ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device",
     "disk full"),
    ("The checksum for /var/cache/x.tar.gz did not match; checksum mismatch", "checksum mismatch"),
    ("something nobody anticipated", ""),
]


@pytest.mark.parametrize(("text", "cause"), CASES)
def test_the_cause_is_recognised(text: str, cause: str) -> None:
    assert fe.classify(text)[0] == cause


@pytest.mark.parametrize(("text", "cause"), [c for c in CASES if c[1]])
def test_one_message_names_url_variable_and_cause_without_the_raw_error(text: str, cause: str) -> None:
    msg = fetch_failure({"failed": True, "msg": text}, KEY_URL, "nvidia_driver_repo_keyring_url", "the key")
    assert KEY_URL in msg and "nvidia_driver_repo_keyring_url" in msg and cause in msg
    assert "urlopen error" not in msg and "Errno" not in msg
    assert "\n" not in msg


def test_an_unknown_failure_keeps_a_short_readable_detail() -> None:
    msg = fetch_failure("Request failed: <urlopen error something odd>", KEY_URL, "v", "the key")
    assert "something odd" in msg and "urlopen" not in msg and "v" in msg


def test_known_only_leaves_a_resolver_conflict_alone() -> None:
    conflict = {"stderr": "No solution found: torch==9 unsatisfiable"}
    assert fetch_failure(conflict, "https://pypi.org/simple", "v", "the index", known_only=True) == ""


def test_credentials_in_the_url_are_masked() -> None:
    msg = fe.describe("Connection refused", "https://user:token@mirror.example/simple", "v", "packages")
    assert "token" not in msg and "***@mirror.example" in msg
    assert "mirror.example" in msg


def test_a_status_code_counts_when_the_text_does_not_say_it() -> None:
    assert "404" in fetch_failure({"msg": "Request failed", "status_code": 404}, KEY_URL, "v", "the key")


def test_the_host_and_port_are_named() -> None:
    msg = fe.describe("[Errno 111] Connection refused", "http://127.0.0.1:8926/3bf863cc.pub", "v", "the key")
    assert "127.0.0.1:8926 resolves but nothing accepts connections" in msg


def _python_env_module():  # type: ignore[no-untyped-def]
    import importlib.util

    path = ROOT / "collections/ansible_collections/dlrig/rig/plugins/modules/python_env.py"
    spec = importlib.util.spec_from_file_location("dlrig_python_env_fe", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PARAMS = {"prefix": "/opt/dlrig/envs", "index_url": "https://u:secret@pypi.example/simple"}


def test_pip_stalling_names_the_server_pip_talked_to_and_the_variables() -> None:
    pe = _python_env_module()
    output = "ReadTimeoutError: HTTPConnectionPool(host='127.0.0.1', port=8876): Read timed out."
    msg = pe.explain("pip install --require-hashes failed (exit 2)", output, PARAMS)
    assert msg.startswith("pip install --require-hashes failed (exit 2)")
    assert "http://127.0.0.1:8876/" in msg and "stalled or dropped" in msg
    assert "python_env_pip_index_url" in msg


def test_pip_on_a_full_disk_names_the_prefix() -> None:
    pe = _python_env_module()
    output = "OSError: [Errno 28] No space left on device"
    msg = pe.explain("pip install --require-hashes failed (exit 1)", output, PARAMS)
    assert "disk full" in msg and "/opt/dlrig/envs" in msg and "python_env_prefix" in msg


def test_the_module_time_limit_and_unknown_failures_are_left_as_they_are() -> None:
    pe = _python_env_module()
    timeout = "Timeout exceeded: pip was still running"
    assert pe.explain(timeout, "timed out", PARAMS) == timeout
    failed = "importing six failed (exit 1)"
    assert pe.explain(failed, "ModuleNotFoundError", PARAMS) == failed


def test_the_index_credentials_never_reach_the_message() -> None:
    pe = _python_env_module()
    msg = pe.explain("pip install --require-hashes failed (exit 1)", "[Errno 111] Connection refused", PARAMS)
    assert "secret" not in msg and "pypi.example" in msg


def test_a_step_that_hides_enospc_is_told_by_the_free_space_left() -> None:
    pe = _python_env_module()
    hidden = "Error: Command '[..., '-m', 'ensurepip']' returned non-zero exit status 1."
    msg = pe.explain("creating the virtual environment failed (exit 1)", hidden, PARAMS, 2 * 1024 * 1024)
    assert "disk full" in msg and "2 MB free" in msg and "python_env_prefix" in msg
    roomy = pe.explain("creating the virtual environment failed (exit 1)", hidden, PARAMS, 10 * 1024**3)
    assert roomy == "creating the virtual environment failed (exit 1)"


# uv's own words for each fault, captured from the pinned uv against loopback indexes that fail in one way
# each (tests/fixtures/uv/capture.py): file -> the cause a person is told.
UV_FIXTURES = ROOT / "tests/fixtures/uv"
UV_CASES = {
    "stall.txt": "stalled or dropped",       # the index stops sending mid-file: uv's read timeout
    "drop.txt": "stalled or dropped",        # the connection closed before the announced length
    "truncate.txt": "truncated download",    # a file shorter than a wheel, announced as complete
    "html.txt": "not a package file",        # a web page (captive portal, proxy login) instead of the wheel
    "not-found.txt": "not found (404)",      # an index (or a wrong index path) that lacks the projects
    "refused.txt": "connection refused",
    "dns.txt": "name does not resolve (DNS)",
    "tls.txt": "TLS failure",                # a certificate nobody trusts
    # A lock whose hash for six is wrong, against the test mirror (molecule/env-interrupt's tampered-lock
    # build, uv 0.13.9, 2026-12-02: copied from the scenario's output, not written by capture.py).
    "hash-mismatch.txt": "checksum mismatch",
}


def test_every_captured_uv_fault_has_its_expected_cause() -> None:
    assert sorted(p.name for p in UV_FIXTURES.glob("*.txt")) == sorted(UV_CASES)


@pytest.mark.parametrize(("name", "cause"), sorted(UV_CASES.items()))
def test_uv_output_is_classified(name: str, cause: str) -> None:
    assert fe.classify((UV_FIXTURES / name).read_text(encoding="utf-8"))[0] == cause


@pytest.mark.parametrize(("name", "cause"), sorted(UV_CASES.items()))
def test_a_failed_uv_build_gives_one_message_naming_what_was_reached_the_variable_and_the_cause(
        name: str, cause: str) -> None:
    pe = _python_env_module()
    output = (UV_FIXTURES / name).read_text(encoding="utf-8")
    params = {"prefix": "/opt/dlrig/envs", "index_url": "http://127.0.0.1:8832/simple"}
    msg = pe.explain("uv pip install --require-hashes failed (exit 1)", output, params)
    assert msg.startswith("uv pip install --require-hashes failed (exit 1). Could not download")
    assert f" — {cause}: " in msg and "python_env_pip_index_url" in msg
    # What was reached: the URL uv names, else the index it was given.
    reached = re.search(r"https?://[^\s/)]+", output)
    assert (reached.group(0) if reached else "http://127.0.0.1:8832") in msg
    # One message, uv's cause chain read rather than repeated.
    assert "\n" not in msg and "cause:" not in msg and "os error" not in msg


def test_uv_names_the_file_it_was_fetching() -> None:
    pe = _python_env_module()
    output = (UV_FIXTURES / "stall.txt").read_text(encoding="utf-8")
    failed = re.search(r"Failed to download `([^`]+)`", output)
    assert failed
    msg = pe.explain("uv pip install --require-hashes failed (exit 1)", output, PARAMS)
    assert f"({failed.group(1)} failed first)" in msg


def test_uv_stall_and_a_full_disk_are_told_apart() -> None:
    """A stall leaves the file system roomy: not a full disk; the same text with 1 MB free is one."""
    pe = _python_env_module()
    output = (UV_FIXTURES / "stall.txt").read_text(encoding="utf-8")
    roomy = pe.explain("uv pip install --require-hashes failed (exit 1)", output, PARAMS, 10 * 1024**3)
    assert "stalled or dropped" in roomy and "disk full" not in roomy
    full = pe.explain("uv pip install --require-hashes failed (exit 1)", output, PARAMS, 1024 * 1024)
    assert "disk full" in full


def test_only_the_server_of_a_no_log_index_is_named() -> None:
    """Ansible masks a no_log value (the index URL) wherever it occurs in a result: the message names the
    server (scheme, host, port), never the path, where a hosted index may keep a token."""
    pe = _python_env_module()
    params = {"prefix": "/opt/dlrig/envs", "index_url": "https://pypi.example:8443/s3cr3t-token/simple"}
    msg = pe.explain("uv pip install --require-hashes failed (exit 2)", "Connection refused (os error 111)",
                     params)
    assert "from https://pypi.example:8443/ (set by" in msg
    assert "s3cr3t" not in msg and params["index_url"] not in msg
