#!/usr/bin/env bash
# Build a signed flat apt repository of test doubles for NVIDIA's CUDA repository:
#     molecule/resources/apt-mirror/build.sh OUTDIR
# The packages carry the REAL names the roles nvidia_driver and cuda install on Debian 12 for the
# branch and versions pinned in molecule/resources/inventory/group_vars/all/{nvidia_driver,cuda}.yml
# (driver 580, open kernel modules; CUDA 12.8 and 12.6 side by side; cuDNN 9). They install no
# driver: files only, so that the roles' apt, hold, pin, systemd and alternatives steps run for real.
# A newer branch (590) of the driver packages is in the repository too, so that the tests prove
# the apt pin keeps the chosen branch.
# Also, for the reference scenario (molecule/reference): NVIDIA's compute/cuda/repos/ubuntu1804/x86_64/
# layout with the ubuntu1804 names of driver 530, CUDA 12.1 and cuDNN 8.9 (ubuntu1804-packages.sh), and a
# standalone CPython 3.11 test double under python-build-standalone/ (python-standalone.sh).
# Layout like NVIDIA's (Packages, Release, InRelease, Release.gpg in one directory, suite "/"),
# signed with a throwaway key made in a temporary GNUPGHOME. The public key is written as
#   OUTDIR/dlrig-test-archive-keyring.gpg   binary (dearmored)
#   OUTDIR/3bf863cc.pub                     ASCII armoured, at the path where NVIDIA serves its key,
#                                           which is what nvidia_driver_repo_keyring_url downloads.
# Needs: dpkg-deb, dpkg-scanpackages (dpkg-dev), apt-ftparchive (apt-utils), gpg.
set -euo pipefail
OUT=${1:?usage: build.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for tool in dpkg-deb dpkg-scanpackages apt-ftparchive gpg; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool missing (apt-get install dpkg-dev apt-utils gpg)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'gpgconf --homedir "$WORK/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

DRIVER=580.95.05-1          # branch the molecule inventory pins (nvidia_driver_branch: "580")
DRIVER_NEWER=590.44.01-1    # a newer branch the pin must keep out
CUDNN=9.10.2.21-1

# pkg NAME VERSION DEPENDS DESCRIPTION: starts a package tree in $P; files go under $P, then `build`.
# persistenced_double: the test double of nvidia-persistenced (daemon and unit) into the package tree $P;
# Debian's nvidia-persistenced and Ubuntu's nvidia-compute-utils-<branch> (ubuntu1804-packages.sh) carry it.
persistenced_double() {
  mkdir -p "$P/usr/bin" "$P/lib/systemd/system"
  cat >"$P/usr/bin/nvidia-persistenced" <<'SH'
#!/bin/sh
# dlrig test double of nvidia-persistenced: no GPU here, so it only stays alive (Type=forking).
setsid /bin/sleep infinity </dev/null >/dev/null 2>&1 &
exit 0
SH
  chmod 0755 "$P/usr/bin/nvidia-persistenced"
  cat >"$P/lib/systemd/system/nvidia-persistenced.service" <<'UNIT'
[Unit]
Description=NVIDIA Persistence Daemon (dlrig test double)
Wants=syslog.target

[Service]
Type=forking
ExecStart=/usr/bin/nvidia-persistenced --user nvidia-persistenced

[Install]
WantedBy=multi-user.target
UNIT
}

pkg() {
  P=$WORK/tree/$1_$2
  rm -rf "$P"; mkdir -p "$P/DEBIAN"
  {
    echo "Package: $1"
    echo "Version: $2"
    echo "Architecture: amd64"
    echo "Maintainer: dlrig test mirror <dlrig@localhost>"
    [ -n "$3" ] && echo "Depends: $3"
    echo "Section: multiverse/devel"
    echo "Priority: optional"
    echo "Description: $4"
    echo " dlrig test double: carries the real package name, installs no driver."
  } >"$P/DEBIAN/control"
}
build() { dpkg-deb --root-owner-group -Zgzip --build "$P" "$OUT/pool/" >/dev/null; }
mkdir -p "$OUT/pool"

# --- NVIDIA driver (Debian 12, open kernel modules, branch 580; and 590 for the pin test) ---------
for v in "$DRIVER" "$DRIVER_NEWER"; do
  branch=${v%%.*}
  pkg nvidia-kernel-open-dkms "$v" "" "NVIDIA binary kernel module DKMS source open flavor"
  mkdir -p "$P/usr/share/doc/nvidia-kernel-open-dkms"
  echo "test double of nvidia-kernel-open-dkms $v" >"$P/usr/share/doc/nvidia-kernel-open-dkms/README.dlrig"
  build

  pkg nvidia-persistenced "$v" "" "NVIDIA Persistence Daemon"
  persistenced_double
  build

  pkg "cuda-drivers-$branch" "$v" "nvidia-kernel-open-dkms (= $v) | nvidia-kernel-dkms (= $v)" \
    "CUDA Driver meta-package, branch-specific"
  mkdir -p "$P/usr/share/doc/cuda-drivers-$branch"
  echo "test double of cuda-drivers-$branch $v" >"$P/usr/share/doc/cuda-drivers-$branch/README.dlrig"
  build
done

# --- NVIDIA driver, proprietary kernel modules (issue 20: a Pascal card, which has no open modules,
# moves a 590 open box to 580 proprietary; driver-policies' dlrig-drvpol-flavour). The two module
# packages exclude each other, as the other flavour's held package would block apt without the role.
pkg nvidia-kernel-dkms "$DRIVER" "" "NVIDIA binary kernel module DKMS source"
echo "Conflicts: nvidia-kernel-open-dkms" >>"$P/DEBIAN/control"
mkdir -p "$P/usr/share/doc/nvidia-kernel-dkms"
echo "test double of nvidia-kernel-dkms $DRIVER" >"$P/usr/share/doc/nvidia-kernel-dkms/README.dlrig"
build

# --- CUDA toolkits side by side (each registers the "cuda" alternative like NVIDIA's packages) ---
for cv in 12.8:12.8.1-1:128 12.6:12.6.3-1:126; do
  IFS=: read -r ver debver prio <<<"$cv"
  dash=${ver/./-}
  pkg "cuda-toolkit-$dash" "$debver" "" "CUDA Toolkit $ver meta-package"
  root=$P/usr/local/cuda-$ver
  mkdir -p "$root/bin" "$root/lib64"
  cat >"$root/bin/nvcc" <<SH
#!/bin/sh
# dlrig test double of nvcc
echo "nvcc: NVIDIA (R) Cuda compiler driver"
echo "Cuda compilation tools, release $ver, V$ver.0"
SH
  chmod 0755 "$root/bin/nvcc"
  : >"$root/lib64/libcudart.so.${ver%%.*}"
  printf '{\n  "cuda": {"name": "CUDA SDK", "version": "%s"}\n}\n' "${debver%-*}" >"$root/version.json"
  cat >"$P/DEBIAN/postinst" <<SH
#!/bin/sh
set -e
update-alternatives --install /usr/local/cuda cuda /usr/local/cuda-$ver $prio
update-alternatives --install /usr/local/cuda-${ver%%.*} cuda-${ver%%.*} /usr/local/cuda-$ver $prio
SH
  cat >"$P/DEBIAN/prerm" <<SH
#!/bin/sh
set -e
if [ "\$1" = remove ]; then
  update-alternatives --remove cuda /usr/local/cuda-$ver
  update-alternatives --remove cuda-${ver%%.*} /usr/local/cuda-$ver
fi
SH
  chmod 0755 "$P/DEBIAN/postinst" "$P/DEBIAN/prerm"
  build
done

# --- cuDNN 9 for CUDA 12 ------------------------------------------------------------------------------
pkg libcudnn9-cuda-12 "$CUDNN" "" "cuDNN runtime libraries for CUDA 12"
mkdir -p "$P/usr/lib/x86_64-linux-gnu"
: >"$P/usr/lib/x86_64-linux-gnu/libcudnn.so.9"
build
pkg libcudnn9-dev-cuda-12 "$CUDNN" "libcudnn9-cuda-12 (= $CUDNN)" "cuDNN development headers for CUDA 12"
mkdir -p "$P/usr/include/x86_64-linux-gnu"
IFS=. read -r maj min pat _ <<<"${CUDNN%-*}"
printf '#define CUDNN_MAJOR %s\n#define CUDNN_MINOR %s\n#define CUDNN_PATCHLEVEL %s\n' "$maj" "$min" "$pat" \
  >"$P/usr/include/x86_64-linux-gnu/cudnn_version_v9.h"
build
pkg cudnn9-cuda-12 "$CUDNN" "libcudnn9-cuda-12 (= $CUDNN), libcudnn9-dev-cuda-12 (= $CUDNN)" \
  "cuDNN 9 meta-package for CUDA 12"
build

# --- NVIDIA's ubuntu1804/x86_64 repository (the reference scenario: the shipped deep-al host) -------
# Its own directory at NVIDIA's path (compute/cuda/repos/<repo path>/<arch>/ under the base URL): the
# packages of ubuntu1804-packages.sh, signed with the same key.
. "$(dirname "${BASH_SOURCE[0]}")/ubuntu1804-packages.sh"

# --- standalone CPython test double (python-build-standalone's layout) -------------------------------
bash "$(dirname "${BASH_SOURCE[0]}")/python-standalone.sh" "$OUT/python-build-standalone"

# --- the index, flat like NVIDIA's ------------------------------------------------------------------
# index DIR DEBDIR: Packages of DEBDIR (relative to DIR) and an unsigned Release in DIR.
index() {
  (cd "$1" && dpkg-scanpackages --multiversion "$2" /dev/null >Packages 2>/dev/null && gzip -9kf Packages \
    && apt-ftparchive \
      -o APT::FTPArchive::Release::Origin="dlrig test mirror" \
      -o APT::FTPArchive::Release::Label="dlrig test doubles of NVIDIA CUDA" \
      -o APT::FTPArchive::Release::Architectures=amd64 \
      release . >"$WORK/Release" && mv "$WORK/Release" Release)
}
index "$OUT" pool
index "$OUT/$U1804_REPO" .

# --- a throwaway signing key and the signatures ------------------------------------------------------
export GNUPGHOME=$WORK/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-generate-key "dlrig test archive <dlrig@localhost>" rsa3072 sign never
for dir in "$OUT" "$OUT/$U1804_REPO"; do
  gpg --batch --quiet --yes --clearsign -o "$dir/InRelease" "$dir/Release"
  gpg --batch --quiet --yes -abs -o "$dir/Release.gpg" "$dir/Release"
  gpg --batch --quiet --armor --export >"$dir/3bf863cc.pub"
done
cd "$OUT"
gpg --batch --quiet --export >dlrig-test-archive-keyring.gpg
# The key's fingerprint, which the Molecule inventory pins (nvidia_driver_repo_keyring_fingerprint).
gpg --batch --with-colons --fingerprint | awk -F: '/^fpr:/ {print $10; exit}' >dlrig-test-archive-key.fingerprint
echo "build.sh: $(grep -c '^Package:' Packages) packages in $OUT, $(grep -c '^Package:' "$U1804_REPO/Packages") in $OUT/$U1804_REPO"
