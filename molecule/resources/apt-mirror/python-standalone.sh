#!/usr/bin/env bash
# Test double of python-build-standalone's CPython 3.11 download for the reference scenario:
#     python-standalone.sh OUTDIR
# writes OUTDIR/<release>/cpython-<version>+<release>-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz
# (the file name and the release directory of the build roles/python_runtime pins for 3.11, so that only
# the base URL is a mirror's) and OUTDIR/cpython-3.11.sha256 (its checksum, which the scenario gives the
# role: the pinned checksum is the real build's). The content is THIS machine's Debian 12 CPython 3.11
# (/usr/bin/python3.11 and /usr/lib/python3.11, the same packages as the Molecule image, which is
# debootstrapped from this machine's archive) laid out as python-build-standalone's install_only tarball
# (python/bin/python3.11, python/lib/python3.11): the role's download, checksum and unpack run for real,
# the interpreter is Debian's 3.11 under the pinned build's name.
set -euo pipefail
OUT=${1:?usage: python-standalone.sh OUTDIR}
VERSION=3.11.10 RELEASE=20240909  # roles/python_runtime/defaults/main.yml, python_runtime_standalone_builds["3.11"]
[ -x /usr/bin/python3.11 ] && [ -f /usr/lib/python3.11/os.py ] \
  || { echo "python-standalone.sh: /usr/bin/python3.11 and /usr/lib/python3.11 are needed (Debian 12's python3.11)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/python/bin" "$WORK/python/lib" "$OUT/$RELEASE"
cp -p /usr/bin/python3.11 "$WORK/python/bin/python3.11"
ln -s python3.11 "$WORK/python/bin/python3"
# The test suite, caches and Debian's "externally managed" marker are not part of a standalone build.
tar -C /usr/lib --exclude=python3.11/test --exclude='__pycache__' --exclude=python3.11/EXTERNALLY-MANAGED \
  --exclude=python3.11/dist-packages -cf - python3.11 | tar -C "$WORK/python/lib" -xf -
# Debian's ensurepip takes pip and setuptools from /usr/share/python-wheels (python3-pip-whl), which a target
# without those packages lacks; a standalone build bundles them in ensurepip/_bundled. Bundle Debian's own
# wheels the same way (apt-get download: this machine's archive) and name their versions in ensurepip.
# (This machine's /usr/share/python-wheels when it has them, else the packages from its archive.)
wheels=/usr/share/python-wheels
if ! ls "$wheels"/pip-*.whl "$wheels"/setuptools-*.whl >/dev/null 2>&1; then
  mkdir -p "$WORK/whl/x"
  (cd "$WORK/whl" && apt-get download python3-pip-whl python3-setuptools-whl >/dev/null 2>&1) \
    || { echo "python-standalone.sh: apt-get download python3-pip-whl python3-setuptools-whl failed" >&2; exit 1; }
  for deb in "$WORK"/whl/*.deb; do dpkg-deb -x "$deb" "$WORK/whl/x"; done
  wheels=$WORK/whl/x/usr/share/python-wheels
fi
bundled=$WORK/python/lib/python3.11/ensurepip/_bundled
mkdir -p "$bundled"
for name in pip setuptools; do
  wheel=$(find "$wheels" -name "$name-*-py3-none-any.whl" | head -n 1)
  [ -n "$wheel" ] || { echo "python-standalone.sh: no $name wheel in python3-$name-whl" >&2; exit 1; }
  cp "$wheel" "$bundled/"
  version=$(basename "$wheel" | cut -d- -f2)
  upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
  sed -i "s/^_${upper}_VERSION = \".*\"/_${upper}_VERSION = \"$version\"/" "$WORK/python/lib/python3.11/ensurepip/__init__.py"
done
file=$OUT/$RELEASE/cpython-$VERSION+$RELEASE-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz
tar -C "$WORK" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf - python | gzip -1n >"$file"
sha256sum "$file" | cut -d' ' -f1 >"$OUT/cpython-3.11.sha256"
echo "python-standalone.sh: $(du -h "$file" | cut -f1) $file"
