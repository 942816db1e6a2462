#!/usr/bin/env python3
"""Measure what each committed environment lock needs on disk, for dlrig/data/disk_sizes.yml.

    scripts/measure_disk_sizes.py WHEEL_DIR [WHEEL_DIR ...]

For every lock under roles/*/files/locks/, each pinned package's wheel is looked up in the given
directories (the local wheel mirrors: a file whose SHA-256 is one of the lock's hashes for that pin) and
measured: its size (what pip downloads) and the sum of its members' uncompressed sizes (what it
occupies installed, before the .pyc files pip compiles). Prints YAML: the `environments` section of
dlrig/data/disk_sizes.yml. Packages not found are listed under not_measured (the lock's figures are then
a lower bound). To fill such gaps, fetch the missing pins' wheels by hash into a scratch folder, e.g.
`pip download --no-deps --only-binary :all: --require-hashes -r <the missing pins with their --hash
lines> -d DIR` (with --platform/--python-version for the lock's target), and pass DIR here as well.
"""

from __future__ import annotations

import hashlib
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins_with_hashes(text: str) -> dict[str, tuple[str, set[str]]]:
    out: dict[str, tuple[str, set[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = _PIN.match(block.strip())
        if m:
            name = re.sub(r"[-_.]+", "_", m.group(1)).lower()
            out[name] = (m.group(2), set(re.findall(r"--hash=sha256:([0-9a-f]{64})", block)))
    return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(dirs: list[str]) -> int:
    wheels: dict[str, list[Path]] = {}
    for d in dirs:
        for path in Path(d).rglob("*.whl"):
            wheels.setdefault(re.sub(r"[-_.]+", "_", path.name.split("-")[0]).lower(), []).append(path)
    print("environments:")
    for lock in sorted(ROOT.glob("roles/*/files/locks/*.txt")):
        download = installed = 0
        missing: list[str] = []
        pins = pins_with_hashes(lock.read_text())
        for name, (version, hashes) in sorted(pins.items()):
            local = version.split("+", 1)[0]
            candidates = [w for w in wheels.get(name, []) if f"-{local}" in w.name]
            found = next((w for w in candidates if sha256(w) in hashes), None)
            if found is None:
                missing.append(f"{name}=={version}")
                continue
            download += found.stat().st_size
            with zipfile.ZipFile(found) as archive:
                installed += sum(info.file_size for info in archive.infolist())
        print(f"  {lock.name}:")
        print(f"    packages: {len(pins)}")
        print(f"    measured_packages: {len(pins) - len(missing)}")
        print(f"    download_bytes: {download}")
        print(f"    installed_bytes: {installed}")
        if missing:
            print("    not_measured:")
            for pin in missing:
                print(f'      - "{pin}"')
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__ or "")
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
