"""The framework environments (roles python_runtime, python_env, pytorch_env, tensorflow_env).

Both environments import their frameworks and train a tiny model for one step on the CPU, each is
exactly its committed lock (same hash, same package set), lives behind the atomic symlink, and is a
Jupyter kernel that Jupyter finds and that runs code.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import run_ok

ROOT = Path(__file__).resolve().parents[3]
PREFIX = "/opt/dlrig/envs"
KERNELS = "/usr/local/share/jupyter/kernels"

PYTORCH_STEP = r"""
import json, math, warnings
warnings.filterwarnings("ignore")
import torch, fastai
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from torch.utils.data import TensorDataset
torch.manual_seed(0)
x = torch.randn(64, 4)
y = (x.sum(dim=1, keepdim=True) > 0).float()
ds = TensorDataset(x, y)
dls = DataLoaders.from_dsets(ds, ds, bs=16, device="cpu")
learn = Learner(dls, torch.nn.Linear(4, 1), loss_func=torch.nn.BCEWithLogitsLoss())
before = [p.detach().clone() for p in learn.model.parameters()]
learn.fit(1, lr=0.1)
changed = any(not torch.equal(b, p.detach()) for b, p in zip(before, learn.model.parameters()))
loss = float(learn.recorder.losses[-1])
print(json.dumps({"torch": torch.__version__, "fastai": fastai.__version__, "loss": loss,
                  "finite": math.isfinite(loss), "weights_changed": changed,
                  "cuda_build": torch.version.cuda}))
"""

KERAS_STEP = r"""
import json, math, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, tensorflow as tf, keras
rng = np.random.default_rng(0)
model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
before = [w.copy() for w in model.get_weights()]
hist = model.fit(rng.random((32, 4)), rng.random((32, 1)), epochs=1, batch_size=8, verbose=0)
changed = any(not np.array_equal(b, a) for b, a in zip(before, model.get_weights()))
loss = float(hist.history["loss"][-1])
print(json.dumps({"tensorflow": tf.__version__, "keras": keras.__version__,
                  "backend": keras.backend.backend(), "loss": loss, "finite": math.isfinite(loss),
                  "weights_changed": changed}))
"""

# Packages as `importlib.metadata` sees them in the env, normalised (PEP 503).
LIST_DISTS = (
    "import json, re, importlib.metadata as m; "
    "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version "
    "for d in m.distributions()}))"
)

# Start the kernel the way Jupyter does (kernel.json from the kernelspec path) and run one line in it.
RUN_IN_KERNEL = r"""
import sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=180)
try:
    out = []
    def keep_stdout(msg):
        if msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout":
            out.append(msg["content"]["text"])
    reply = kc.execute_interactive(sys.argv[2], timeout=180, output_hook=keep_stdout)
    print(reply["content"]["status"], "".join(out).strip())
finally:
    kc.stop_channels(); km.shutdown_kernel(now=True)
"""


def _lock_file(role: str, name: str) -> Path:
    return ROOT / "roles" / role / "files" / "locks" / f"{name}.txt"


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def _run_json(host: Any, python: str, code: str) -> dict[str, Any]:
    out = run_ok(host, f"{python} -c {_quote(code)}")
    return json.loads(out.strip().splitlines()[-1])


def _quote(code: str) -> str:
    return "'" + code.replace("'", "'\"'\"'") + "'"


ENVS = {
    "pytorch": {
        "role": "pytorch_env",
        "lock": lambda v: (
            f"py{v['python']}-torch{v['torch']}-{v['torch_cuda_variant']}"
            f"-torchvision{v['torchvision']}-fastai{v['fastai']}"
        ),
        "kernel": "dlrig-pytorch",
    },
    "tensorflow": {
        "role": "tensorflow_env",
        "lock": lambda v: (
            # no GPU declared: the CPU build (roles/tensorflow_env/README.md)
            f"py{v['python']}-tensorflow{v['tensorflow']}-cpu-keras{v['keras']}"
        ),
        "kernel": "dlrig-tensorflow",
    },
}


@pytest.fixture(params=sorted(ENVS))
def env(request, resolved):
    spec = ENVS[request.param]
    text = _lock_file(spec["role"], spec["lock"](resolved)).read_text()
    return {
        "name": request.param,
        "kernel": spec["kernel"],
        "lock_text": text,
        # The role reads the lock with Ansible's file lookup (trailing whitespace stripped) + "\n".
        "lock_sha256": hashlib.sha256((text.rstrip() + "\n").encode()).hexdigest(),
        "python": f"{PREFIX}/{request.param}/bin/python",
    }


def test_python_runtime_is_debians_311(host):
    out = run_ok(host, "/usr/bin/python3.11 -c 'import sys, venv; print(sys.version_info[:2])'")
    assert out.strip() == "(3, 11)"


def test_env_is_a_symlink_to_the_versioned_build_of_its_lock(host, env):
    link = host.file(f"{PREFIX}/{env['name']}")
    assert link.is_symlink
    target = link.linked_to
    assert re.fullmatch(rf"{PREFIX}/{env['name']}-[0-9a-f]{{12}}", target), target
    marker = json.loads(host.file(f"{target}/.dlrig-env.json").content_string)
    assert marker["lock_sha256"] == env["lock_sha256"]
    assert marker["key"] == target.rsplit("-", 1)[1]
    assert host.file(f"{target}/dlrig-lock.txt").content_string.rstrip() == env["lock_text"].rstrip()
    # No staging directory is left after a successful run.
    assert run_ok(host, f"find {PREFIX} -maxdepth 1 -name '.staging-*'").strip() == ""


def test_env_holds_exactly_the_locked_packages(host, env):
    installed = _run_json(host, env["python"], LIST_DISTS)
    pins = _pins(env["lock_text"])
    wrong = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert not wrong, f"locked vs installed: {wrong}"
    # venv's own pip (and setuptools on old Pythons) is the only thing not from the lock.
    extra = set(installed) - set(pins) - {"pip", "setuptools"}
    assert not extra, f"installed but not locked: {sorted(extra)}"


def test_every_lock_entry_carries_a_hash(env):
    blocks = re.split(r"\n(?=[A-Za-z0-9])", env["lock_text"])
    entries = [b for b in blocks if re.match(r"^[A-Za-z0-9][^\n]*==", b)]
    assert entries
    assert all("--hash=sha256:" in b for b in entries)


def test_pytorch_and_fastai_train_one_step(host, resolved):
    result = _run_json(host, f"{PREFIX}/pytorch/bin/python", PYTORCH_STEP)
    assert result["torch"].split("+")[0] == resolved["torch"]
    assert result["fastai"] == resolved["fastai"]
    assert result["finite"] and result["weights_changed"], result
    # The CUDA variant of the build is the one asked for (cu130 -> CUDA 13.0), even without a GPU.
    variant = resolved["torch_cuda_variant"]
    if variant.startswith("cu"):
        assert result["cuda_build"].replace(".", "") == variant[2:], result


def test_tensorflow_and_keras_train_one_step(host, resolved):
    result = _run_json(host, f"{PREFIX}/tensorflow/bin/python", KERAS_STEP)
    assert result["tensorflow"] == resolved["tensorflow"]
    assert result["keras"] == resolved["keras"]
    assert result["backend"] == "tensorflow"
    assert result["finite"] and result["weights_changed"], result


def test_tensorflow_env_is_the_cpu_build_without_cuda_wheels(host):
    installed = _run_json(host, f"{PREFIX}/tensorflow/bin/python", LIST_DISTS)
    assert "tensorflow-cpu" in installed
    assert not [n for n in installed if n.startswith("nvidia-")]


def test_kernel_spec_points_at_the_env_and_names_the_versions(host, env):
    spec = json.loads(host.file(f"{KERNELS}/{env['kernel']}/kernel.json").content_string)
    assert spec["argv"][:3] == [env["python"], "-m", "ipykernel_launcher"]
    assert spec["metadata"]["dlrig"]["lock_sha256"] == env["lock_sha256"]
    pins = _pins(env["lock_text"])
    shown = ["torch", "fastai"] if env["name"] == "pytorch" else ["tensorflow-cpu", "keras"]
    for name in shown:
        assert f"{name} {pins[name]}" in spec["display_name"], spec["display_name"]
    assert "Python 3.11" in spec["display_name"]


def test_jupyter_finds_both_kernels(host, env):
    listed = json.loads(run_ok(host, f"{PREFIX}/{env['name']}/bin/jupyter-kernelspec list --json"))
    found = listed["kernelspecs"]
    for kernel in ("dlrig-pytorch", "dlrig-tensorflow"):
        assert found[kernel]["resource_dir"] == f"{KERNELS}/{kernel}"


def test_kernel_runs_code_in_its_env(host, env):
    module = "torch" if env["name"] == "pytorch" else "tensorflow"
    code = f"import os, sys, {module}; print(os.path.realpath(sys.prefix), {module}.__version__)"
    out = run_ok(host, f"{env['python']} -c {_quote(RUN_IN_KERNEL)} {env['kernel']} {_quote(code)}")
    status, _, rest = out.strip().splitlines()[-1].partition(" ")
    assert status == "ok", out
    assert rest.startswith(f"{PREFIX}/{env['name']}-"), rest
