"""The jupyterlab role, in a real browser: Debian's Chromium, headless, driven through Selenium.

The target shares the host's network (molecule.yml), so the server the role started inside the
container on 127.0.0.1:<port> is the browser's 127.0.0.1:<port> on the host. The Molecule inventory
(molecule/resources/inventory/group_vars/all/jupyterlab.yml) runs it as user ``deep`` with the role's
self-signed TLS certificate and a hashed test password.

Screenshots (login page, each executed notebook) and the measured figures go to
``$DLRIG_TEST_OUTPUT/jupyterlab`` (default: ``test-output/jupyterlab`` in the project, git-ignored).
The tests run in this file's order: the kill test last but one, the restart measurement last.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import math
import os
import re
import shlex
import ssl
import time
from pathlib import Path
from typing import Any

import jupyter_browser as jb
import pytest
from conftest import run_ok

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(os.environ.get("DLRIG_TEST_OUTPUT") or ROOT / "test-output") / "jupyterlab"
PORT = int(os.environ.get("DLRIG_JUPYTER_PORT", "8988"))
BASE = f"https://127.0.0.1:{PORT}"
USER = "deep"
SERVICE = "dlrig-jupyterlab.service"
CONFIG_DIR = "/etc/dlrig/jupyterlab"
# The password whose argon2 hash the Molecule inventory holds.
PASSWORD = "dlrig-molecule-jupyter"
KERNELS = "/usr/local/share/jupyter/kernels"
FIGURES: dict[str, float] = {}

# What each notebook's one cell runs: import the framework, one training step of a small model on
# random data, then one line the test reads from the page.
CELLS = {
    "pytorch": """\
import json, torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(32, 8), torch.randn(32, 1)
loss = torch.nn.functional.mse_loss(model(x), y)
opt.zero_grad(); loss.backward(); opt.step()
print("DLRIG-RESULT " + json.dumps({"framework": "torch", "version": torch.__version__, "loss": loss.item()}))
""",
    "tensorflow": """\
import json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, tensorflow as tf, keras
rng = np.random.default_rng(0)
layers = [keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
model = keras.Sequential(layers)
model.compile(optimizer="sgd", loss="mse")
loss = model.train_on_batch(rng.random((32, 8)), rng.random((32, 1)))
loss = float(loss[0] if isinstance(loss, (list, tuple)) else loss)
print("DLRIG-RESULT " + json.dumps({"framework": "tensorflow", "version": tf.__version__, "loss": loss}))
""",
}
KERNEL_OF = {"pytorch": "dlrig-pytorch", "tensorflow": "dlrig-tensorflow"}


def _screenshot(driver: Any, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def _record(name: str, seconds: float) -> None:
    FIGURES[name] = round(seconds, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "figures.json").write_text(json.dumps(FIGURES, indent=1) + "\n")
    print(f"FIGURE {name}: {seconds:.1f} s")


def _main_pid(host: Any) -> int:
    return int(run_ok(host, f"systemctl show -p MainPID --value {SERVICE}").strip())


def _request(path: str) -> tuple[int, dict[str, str], bytes]:
    """A request without any credentials (no cookie, no token), redirects not followed."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the certificate is compared by fingerprint in its own test
    conn = http.client.HTTPSConnection("127.0.0.1", PORT, timeout=30, context=ctx)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def browser():
    started = time.monotonic()
    driver = jb.make_driver()
    yield driver
    driver.quit()
    _record("browser tests (this module, wall)", time.monotonic() - started)


@pytest.fixture(scope="module")
def kernel_names(host: Any) -> dict[str, str]:
    """The display names the environment roles registered (kernel.json on the target)."""
    return {
        env: json.loads(host.file(f"{KERNELS}/{kernel}/kernel.json").content_string)["display_name"]
        for env, kernel in KERNEL_OF.items()
    }


def test_served_certificate_is_the_roles_self_signed_one(host):
    served = ssl.get_server_certificate(("127.0.0.1", PORT), timeout=30)
    served_fp = hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).hexdigest().upper()
    out = run_ok(host, f"openssl x509 -in {CONFIG_DIR}/tls/cert.pem -noout -fingerprint -sha256")
    assert out.strip().split("=", 1)[1].replace(":", "") == served_fp


@pytest.mark.parametrize(
    "path",
    [
        "/api/contents",
        "/api/kernelspecs",
        "/api/sessions",
        "/api/kernels",
        "/api/terminals",
        "/files/",
        "/lab/tree/",
    ],
)
def test_unauthenticated_requests_get_403_or_login_redirect_never_data(host, path):
    status, headers, body = _request(path)
    if status in (301, 302, 303, 307):
        assert "/login" in headers.get("location", ""), (status, headers)
    else:
        assert status == 403, (status, body[:300])
    assert b"dlrig-pytorch" not in body and b'"content"' not in body and b"kernelspecs" not in body


def test_wrong_password_is_refused(host, browser):
    jb.login(browser, BASE, "not-" + PASSWORD)
    jb.wait_for("the refusal", lambda: "Invalid credentials" in browser.page_source, 60)
    assert jb.on_login_page(browser)
    assert jb.api(browser, "/api/status")[0] == 403


def test_right_password_logs_in(host, browser):
    browser.get(f"{BASE}/login?next=%2Flab")
    jb.wait_for("the login page", lambda: jb.on_login_page(browser), 60)
    _screenshot(browser, "login")
    started = time.monotonic()
    jb.login(browser, BASE, PASSWORD)
    jb.wait_for(
        "the lab page", lambda: "/lab" in browser.current_url and "/login" not in browser.current_url, 60
    )
    status, body = jb.api(browser, "/api/status")
    assert status == 200 and "started" in body, body
    _record("login -> authenticated page", time.monotonic() - started)


def test_launcher_shows_both_kernels_with_their_versions(host, browser, kernel_names, resolved):
    browser.get(f"{BASE}/lab?reset")
    titles = jb.launcher_cards(browser)
    for _env, name in kernel_names.items():
        assert name in titles, f"{name!r} not in the launcher: {titles}"
    assert f"torch {resolved['torch']}" in kernel_names["pytorch"]
    assert re.search(rf"tensorflow(-cpu)? {re.escape(resolved['tensorflow'])}", kernel_names["tensorflow"])
    # JupyterLab's own Python is not offered as a kernel.
    assert not [t for t in titles if t.startswith("Python 3")], titles
    _screenshot(browser, "launcher")


def test_a_kernel_registered_later_appears_without_touching_the_role(host, browser):
    spec = json.loads(host.file(f"{KERNELS}/dlrig-pytorch/kernel.json").content_string)
    spec["display_name"] = "Added later (test)"
    encoded = base64.b64encode(json.dumps(spec).encode()).decode()
    run_ok(
        host,
        f"mkdir -p {KERNELS}/dlrig-later && echo {encoded} | base64 -d > {KERNELS}/dlrig-later/kernel.json",
    )
    try:
        status, body = jb.api(browser, "/api/kernelspecs")
        assert status == 200 and "dlrig-later" in body["kernelspecs"], body
        assert sorted(body["kernelspecs"]) == ["dlrig-later", "dlrig-pytorch", "dlrig-tensorflow"]
    finally:
        run_ok(host, f"rm -rf {KERNELS}/dlrig-later")


@pytest.mark.parametrize("env", sorted(CELLS))
def test_notebook_on_each_kernel_trains_a_step_and_prints_version_and_loss(
    host, browser, env, resolved, kernel_names
):
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "dlrig-step",
                "metadata": {},
                "outputs": [],
                "source": CELLS[env],
            }
        ],
        "metadata": {
            "kernelspec": {"name": KERNEL_OF[env], "display_name": kernel_names[env], "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    name = f"dlrig-test-{env}.ipynb"
    encoded = base64.b64encode(json.dumps(notebook).encode()).decode()
    path = f"/home/{USER}/notebooks/{name}"
    run_ok(host, f"echo {encoded} | base64 -d > {path} && chown {USER}: {path}")
    started = time.monotonic()
    browser.get(f"{BASE}/lab/tree/{name}?reset")
    jb.wait_for("the kernel", lambda: kernel_names[env] in browser.page_source, 180)
    jb.wait_for(
        "an idle kernel", lambda: "Idle" in browser.find_element("css selector", "body").text, 300, 1.0
    )
    jb.run_all_cells(browser)
    line = jb.output_line(browser, "DLRIG-RESULT ", 600)
    _record(f"notebook {env}: open, start kernel, run the step", time.monotonic() - started)
    _screenshot(browser, f"notebook-{env}")
    result = json.loads(line.split(" ", 1)[1])
    expected = resolved["torch"] if env == "pytorch" else resolved["tensorflow"]
    assert result["version"].split("+")[0] == expected, result
    assert math.isfinite(result["loss"]), result
    # The kernel is the environment's, started by the server as the user.
    status, sessions = jb.api(browser, "/api/sessions")
    assert status == 200 and any(s["kernel"]["name"] == KERNEL_OF[env] for s in sessions), sessions
    ps = run_ok(host, f"ps -o user=,args= -u {USER}")
    assert f"/opt/dlrig/envs/{env}/bin/python -m ipykernel_launcher" in ps, ps


def test_service_runs_as_the_user_hardened_with_journal_and_restart(host):
    props = dict(
        line.split("=", 1)
        for line in run_ok(
            host,
            (
                f"systemctl show {SERVICE} -p User -p Restart -p NoNewPrivileges -p ProtectSystem "
                "-p PrivateTmp -p PrivateDevices -p DevicePolicy -p StandardOutput -p WorkingDirectory "
                "-p ActiveState -p UnitFileState"
            ),
        ).splitlines()
    )
    assert props["ActiveState"] == "active" and props["UnitFileState"] == "enabled", props
    assert props["User"] == USER and props["Restart"] == "on-failure", props
    assert props["NoNewPrivileges"] == "yes" and props["ProtectSystem"] == "strict", props
    assert props["PrivateTmp"] == "yes", props
    # The GPUs stay reachable: no private /dev, no device allow-list.
    assert props["PrivateDevices"] == "no" and props["DevicePolicy"] == "auto", props
    assert props["StandardOutput"] == "journal", props
    assert props["WorkingDirectory"] == f"/home/{USER}/notebooks", props
    assert host.file(f"/home/{USER}/notebooks").user == USER
    pid = _main_pid(host)
    assert run_ok(host, f"ps -o user= -p {pid}").strip() == USER
    # The journal has the server's log.
    assert "Jupyter Server" in run_ok(host, f"journalctl -u {SERVICE} --no-pager -o cat")


def test_listens_on_127_0_0_1_only(host):
    lines = [ln for ln in run_ok(host, "ss -Hltnp").splitlines() if f":{PORT} " in ln]
    assert lines, "nothing listens on the port"
    local = {ln.split()[3] for ln in lines}
    assert local == {f"127.0.0.1:{PORT}"}, lines


def test_no_secret_in_the_journal_or_a_world_readable_file(host):
    journal = run_ok(host, f"journalctl -u {SERVICE} --no-pager -o cat")
    inventory = (ROOT / "molecule/resources/inventory/group_vars/all/jupyterlab.yml").read_text()
    hashed = re.search(r"argon2:\S+?(?=\")", inventory)
    assert hashed
    for secret in (PASSWORD, hashed.group(0), hashed.group(0).split("$")[-1]):
        assert secret not in journal
    assert "token=" not in journal or re.search(r"token=\.\.\.", journal)
    world = run_ok(host, f"find {CONFIG_DIR} -type f -perm -o=r").split()
    assert sorted(world) == [f"{CONFIG_DIR}/migrated", f"{CONFIG_DIR}/tls/cert.pem"], world
    for path in ("jupyter_server_config.py", "tls/key.pem"):
        f = host.file(f"{CONFIG_DIR}/{path}")
        assert f.user == "root" and f.mode == 0o640, (path, oct(f.mode))
    # A password is set: no token file is kept.
    assert not host.file(f"{CONFIG_DIR}/token").exists


def test_service_survives_a_kill(host, browser):
    old = _main_pid(host)
    run_ok(host, f"kill -9 {old}")
    new = jb.wait_for("a new server process", lambda: (p := _main_pid(host)) not in (0, old) and p, 60)
    assert run_ok(host, f"systemctl is-active {SERVICE}").strip() == "active"
    jb.wait_for("the server after the restart", lambda: _request("/api")[0] == 200, 300)
    assert new != old


def test_time_from_systemctl_start_to_a_logged_in_page(host, browser):
    # A new visitor: the session cookie would outlive the restart (its secret is in the user's home).
    browser.delete_all_cookies()
    run_ok(host, f"systemctl stop {SERVICE}")
    started = time.monotonic()
    run_ok(host, f"systemctl start {SERVICE}")

    def login_page() -> bool:
        try:
            browser.get(f"{BASE}/login?next=%2Flab")
        except Exception:
            return False
        return jb.on_login_page(browser)

    jb.wait_for("the login page after systemctl start", login_page, 300, 0.2)
    jb.login(browser, BASE, PASSWORD, after="/lab?reset")
    jb.launcher_cards(browser)
    _record("systemctl start -> logged-in page (launcher shown)", time.monotonic() - started)
    print(shlex.join(["figures in", str(OUT / "figures.json")]))
