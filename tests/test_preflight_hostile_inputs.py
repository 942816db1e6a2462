"""Issue 10's reproducers for the preflight: no input hangs it, prints a forged report, a traceback or a
multi-line error. Each bad input exits 2 with one line naming the host and variable (or the option)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from clirun import run_cli

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "inventory" / "host_vars" / "deep-al.yml").read_text().replace("---\n", "", 1)
GPU_LINE = "    - {model: GeForce RTX 2070, count: 1, watts: 185, vram_gb: 8}\n"
MAX_LINE = 600   # printable() clips at 500 characters, plus "preflight: "


def inventory(tmp_path: Path, host_vars: str, name: str = "box1") -> str:
    (tmp_path / "host_vars").mkdir(exist_ok=True)
    (tmp_path / "host_vars" / f"{name}.yml").write_text(host_vars)
    (tmp_path / "hosts").write_text(f"{name}\n")
    return str(tmp_path / "hosts")


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("preflight: ") and "Traceback" not in err
    assert len(err) <= MAX_LINE
    assert not any(ord(ch) < 32 for ch in err[:-1]), "a control character reached the terminal"
    return err


def test_the_reference_line_is_in_the_reference_file() -> None:
    assert GPU_LINE in REFERENCE   # the edits below replace it


# --- hangs -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [
    "psu=1300" + " " * 500 + "!",       # took 28 s (catastrophic backtracking in the psu= pattern)
    "psu=1300" + " " * 1000 + "!",      # never ended
    "psu=1300" + " " * 250 + "!",       # under the length bound: parsed, in linear time
    "memory=" + " " * 280 + "x",
    "gpus=RTX 2070 limit" + " " * 270 + "=x",
    "gpus=" + "2x RTX 2070 + " * 100,
])
def test_what_if_specs_are_parsed_in_linear_time(spec: str) -> None:
    start = time.monotonic()
    err = one_line_error(*run_cli(["-i", str(ROOT / "inventory"), "--limit", "deep-al", "--what-if", spec]))
    assert time.monotonic() - start < 5
    assert "--what-if" in err


def test_a_yaml_alias_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]   # 9^9 values
    host_vars = "\n".join(levels) + "\n" + REFERENCE.replace("hardware:\n", "hardware:\n  notes: *a8\n", 1)
    start = time.monotonic()
    err = one_line_error(*run_cli(["-i", inventory(tmp_path, host_vars)]))
    assert time.monotonic() - start < 20
    assert err.startswith("preflight: box1: hardware: more than 100000 values")


@pytest.mark.parametrize("option", ["-i", "-e"])
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_an_inventory_or_extra_vars_file_that_is_not_regular_is_refused(tmp_path: Path, option: str,
                                                                         kind: str) -> None:
    path = "/dev/zero"
    if kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    argv = ["-i", path] if option == "-i" else ["-i", str(ROOT / "inventory"), "-e", f"@{path}"]
    err = one_line_error(*run_cli(argv))
    assert err.startswith(f"preflight: {option}: ") and "is not a regular file" in err and path in err


def test_a_fifo_inside_an_inventory_directory_is_refused(tmp_path: Path) -> None:
    inventory(tmp_path, REFERENCE)
    (tmp_path / "group_vars").mkdir()
    os.mkfifo(tmp_path / "group_vars" / "all.yml")
    err = one_line_error(*run_cli(["-i", str(tmp_path)]))
    assert "all.yml" in err and "is not a regular file" in err


def test_a_dynamic_inventory_that_never_exits_is_stopped_and_named(tmp_path: Path) -> None:
    script = tmp_path / "inventory.sh"
    script.write_text("#!/bin/sh\nsleep 600\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    start = time.monotonic()
    err = one_line_error(*run_cli(["-i", str(script), "--inventory-timeout", "2"]))
    assert time.monotonic() - start < 15
    assert err == (f"preflight: -i: inventory script {str(script)!r} did not finish within 2 s; it was "
                   "stopped (--inventory-timeout sets the limit)\n")


def test_the_inventory_timeout_has_a_default_and_is_checked() -> None:
    from dlrig.cli import build_parser

    assert build_parser().parse_args([]).inventory_timeout == 60
    err = one_line_error(*run_cli(["--inventory-timeout", "0"]))
    assert err.startswith("preflight: --inventory-timeout: ")


def test_a_binary_inventory_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "inventory.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200)
    err = one_line_error(*run_cli(["-i", str(tmp_path / "inventory.bin")]))
    binary = str(tmp_path / "inventory.bin")
    assert err == (f"preflight: -i: inventory {binary!r} is a binary file, not an INI or YAML inventory "
                   "(nor an executable inventory script)\n")


# --- "unexpected error ... bug in dlrig" ---------------------------------------------------------------

@pytest.mark.parametrize(("field", "path"), [("count: 1", "hardware.gpus[0].count"),
                                             ("watts: 185", "hardware.gpus[0].watts")])
def test_a_huge_integer_in_the_inventory_names_host_and_variable(tmp_path: Path, field: str,
                                                                 path: str) -> None:
    key = field.split(":")[0]
    host_vars = REFERENCE.replace(GPU_LINE, GPU_LINE.replace(field, f"{key}: {'9' * 400}"))
    err = one_line_error(*run_cli(["-i", inventory(tmp_path, host_vars)]))
    assert err.startswith(f"preflight: box1: {path}: expected ") and "got a number of 400 digits" in err


def test_a_huge_integer_in_extra_vars_names_host_and_variable() -> None:
    err = one_line_error(*run_cli(["-i", str(ROOT / "inventory"), "--limit", "deep-al",
                                   "-e", '{"hardware": {"psu": {"watts": ' + "9" * 400 + "}}}"]))
    assert err.startswith("preflight: deep-al: hardware.psu.watts: expected a number")


def test_a_huge_integer_from_a_dynamic_inventory_names_host_and_variable(tmp_path: Path) -> None:
    script = tmp_path / "inventory.py"
    script.write_text("#!/bin/sh\ncat <<'EOF'\n"
                      '{"all": {"hosts": ["box9"]}, "_meta": {"hostvars": {"box9": {"hardware": {"gpus": '
                      '[{"model": "GeForce RTX 2070", "count": ' + "9" * 400 + "}]}}}}}\nEOF\n")
    script.chmod(0o755)
    err = one_line_error(*run_cli(["-i", str(script)]))
    assert err.startswith("preflight: box9: hardware.gpus[0].count: ")


def test_thousands_of_digits_are_said_plainly(tmp_path: Path) -> None:
    host_vars = REFERENCE.replace(GPU_LINE, GPU_LINE.replace("count: 1", f"count: {'9' * 5000}"))
    err = one_line_error(*run_cli(["-i", inventory(tmp_path, host_vars)]))
    assert "set_int_max_str_digits" not in err and err.startswith("preflight: box1: ")
    assert "an integer of 5000 digits" in err
    err = one_line_error(*run_cli(["-i", str(ROOT / "inventory"), "-e", '{"x": ' + "9" * 5000 + "}"]))
    assert err.startswith("preflight: -e: ") and "an integer of 5000 digits" in err


def test_a_bad_limit_pattern_names_the_option() -> None:
    err = one_line_error(*run_cli(["-i", str(ROOT / "inventory"), "--limit", "~("]))
    assert err.startswith("preflight: --limit: ") and "bug in dlrig" not in err


# --- unclear lines -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "start"), [
    (["--format", "xml"], "preflight: argument --format: invalid choice: 'xml'"),
    (["--bogus"], "preflight: unrecognized arguments: --bogus"),
    (["--inventory-timeout", "soon"], "preflight: argument --inventory-timeout: invalid float value"),
])
def test_argparse_errors_are_one_line_exit_2(argv: list[str], start: str) -> None:
    err = one_line_error(*run_cli(argv))
    assert err.startswith(start) and err.endswith(" (see --help)\n")


def test_a_bad_vault_id_blames_the_vault_id() -> None:
    err = one_line_error(*run_cli(["-i", str(ROOT / "inventory"), "--vault-id", "a@b@c"]))
    assert err.startswith("preflight: --vault-id: ")


def test_a_huge_model_name_gives_a_short_line(tmp_path: Path) -> None:
    host_vars = REFERENCE.replace("GeForce RTX 2070", "X" * 100_000, 1)
    err = one_line_error(*run_cli(["-i", inventory(tmp_path, host_vars)]))
    assert err.startswith("preflight: box1: hardware.gpus[0].model: longer than 200 characters")


# --- wrong verdict -------------------------------------------------------------------------------------

def test_an_empty_slot_list_with_a_gpu_fails(tmp_path: Path) -> None:
    host_vars = REFERENCE.replace("gpu_slots: [16, 16, 8, 8]", "gpu_slots: []")
    assert host_vars != REFERENCE
    code, out, _ = run_cli(["-i", inventory(tmp_path, host_vars), "--format", "json"])
    import json

    report = json.loads(out)
    slots = next(c for c in report["hosts"][0]["checks"] if c["id"] == "gpu_slots")
    assert code == 1 and slots["status"] == "fail"
    assert "no GPU slot (gpu_slots: [])" in slots["message"]


# --- forged output -------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [
    "RTX 2070\nbox2  OK\n  OK   psu_headroom  all good",   # a forged host block
    "\x1b[2J\x1b[HRTX 2070",                              # clears the screen
    "RTX 2070\r  OK",
    "RTX 2070\x9b2J",                                     # the C1 form of the escape
    "RTX 2070\u2028OK",
])
def test_control_characters_in_a_model_are_refused(tmp_path: Path, model: str) -> None:
    import json

    host_vars = REFERENCE.replace("{model: GeForce RTX 2070,", f"{{model: {json.dumps(model)},")
    assert host_vars != REFERENCE
    err = one_line_error(*run_cli(["-i", inventory(tmp_path, host_vars)]))
    assert err.startswith("preflight: box1: hardware.gpus[0].model: contains control characters")


def test_control_characters_in_a_what_if_spec_are_refused() -> None:
    err = one_line_error(*run_cli(["-i", str(ROOT / "inventory"), "--limit", "deep-al",
                                   "--what-if", "gpus=RTX 2070\n  OK   psu_headroom"]))
    assert err.startswith("preflight: --what-if: ") and "control characters" in err


def test_every_error_line_escapes_control_characters() -> None:
    from dlrig.errors import printable

    assert printable("a\nb\x1b[2J\x9b\u2028") == "a\\nb\\x1b[2J\\x9b\\u2028"
    assert len(printable("x" * 100_000)) == 500


def test_what_a_host_reports_cannot_forge_the_live_text_report() -> None:
    # --live prints names nvidia-smi gave on the host: a hostile host cannot add lines or move the cursor.
    import io

    from hwfixtures import facts

    from dlrig import cli
    from dlrig.cli import build_parser
    from dlrig.upgrade.live import Detection

    found = facts("rtx2070")
    found["gpus"][0]["smi"]["name"] = "RTX 2070\nbox2  OK\x1b[2J"
    found["cpu_model"] = "CPU\r  OK   all good\x9b"
    args = build_parser().parse_args(["--live", "-i", str(ROOT / "inventory"), "--limit", "deep-al"])
    out = io.StringIO()
    cli.run(args, out, detector=lambda *a, **k: {"deep-al": Detection("deep-al", facts=found)})
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\x9b" not in text
    assert "box2  OK" not in text.splitlines()
