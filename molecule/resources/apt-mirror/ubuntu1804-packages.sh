# shellcheck shell=bash
# Sourced by build.sh (uses its pkg, $P, $OUT): test doubles of NVIDIA's ubuntu1804/x86_64 repository with
# the names and versions the roles install for the shipped reference build (inventory/host_vars/deep-al.yml,
# which the preflight resolves to driver 530 proprietary, CUDA 12.1, cuDNN 8.9 on Ubuntu 18.04):
#   cuda-drivers-530 -> nvidia-driver-530 -> nvidia-compute-utils-530 (nvidia-persistenced, its unit, and
#                       the system user nvidia-persistenced, as Ubuntu's package creates it), nvidia-dkms-530
#   cuda-toolkit-12-1 (nvcc double under /usr/local/cuda-12.1, "cuda" alternatives)
#   libcudnn8 / libcudnn8-dev 8.9.0.131-1+cuda12.1, and +cuda11.8 builds of 8.9.0.131 and of the HIGHER
#                       8.9.2.26: unpinned, apt would take 8.9.2.26-1+cuda11.8; the cuda role's build pin
#                       (libcudnn8=8.9.*-1+cuda12.1) must take 8.9.0.131-1+cuda12.1.
# Files only: no driver, no CUDA. The .debs lie in the repository directory itself, as on NVIDIA's server.
U1804_REPO=compute/cuda/repos/ubuntu1804/x86_64
U1804_DRIVER=530.30.02
U1804_DEST=$OUT/$U1804_REPO
mkdir -p "$U1804_DEST"
build1804() { dpkg-deb --root-owner-group -Zgzip --build "$P" "$U1804_DEST/" >/dev/null; }

pkg cuda-drivers-530 "$U1804_DRIVER-1" "nvidia-driver-530 (>= $U1804_DRIVER)" "CUDA Driver meta-package, branch-specific"
mkdir -p "$P/usr/share/doc/cuda-drivers-530"
echo "test double of cuda-drivers-530 $U1804_DRIVER-1 (ubuntu1804)" >"$P/usr/share/doc/cuda-drivers-530/README.dlrig"
build1804

pkg nvidia-driver-530 "$U1804_DRIVER-0ubuntu1" \
  "nvidia-compute-utils-530 (= $U1804_DRIVER-0ubuntu1), nvidia-dkms-530 (= $U1804_DRIVER-0ubuntu1)" \
  "NVIDIA driver metapackage"
mkdir -p "$P/usr/share/doc/nvidia-driver-530"
echo "test double of nvidia-driver-530 (ubuntu1804)" >"$P/usr/share/doc/nvidia-driver-530/README.dlrig"
build1804

pkg nvidia-dkms-530 "$U1804_DRIVER-0ubuntu1" "" "NVIDIA DKMS package"
mkdir -p "$P/usr/src/nvidia-$U1804_DRIVER"
echo "test double of nvidia-dkms-530: no module source" >"$P/usr/src/nvidia-$U1804_DRIVER/README.dlrig"
build1804

pkg nvidia-compute-utils-530 "$U1804_DRIVER-0ubuntu1" "" "NVIDIA compute utilities"
persistenced_double
cat >"$P/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
# As Ubuntu's nvidia-compute-utils-<branch> does: a system user for the daemon.
getent passwd nvidia-persistenced >/dev/null \
  || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nvidia-persistenced
SH
chmod 0755 "$P/DEBIAN/postinst"
build1804

pkg cuda-toolkit-12-1 12.1.1-1 "" "CUDA Toolkit 12.1 meta-package"
root=$P/usr/local/cuda-12.1
mkdir -p "$root/bin" "$root/lib64"
cat >"$root/bin/nvcc" <<'SH'
#!/bin/sh
# dlrig test double of nvcc
echo "nvcc: NVIDIA (R) Cuda compiler driver"
echo "Cuda compilation tools, release 12.1, V12.1.105"
SH
chmod 0755 "$root/bin/nvcc"
: >"$root/lib64/libcudart.so.12"
printf '{\n  "cuda": {"name": "CUDA SDK", "version": "12.1.1"}\n}\n' >"$root/version.json"
cat >"$P/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
update-alternatives --install /usr/local/cuda cuda /usr/local/cuda-12.1 121
update-alternatives --install /usr/local/cuda-12 cuda-12 /usr/local/cuda-12.1 121
SH
cat >"$P/DEBIAN/prerm" <<'SH'
#!/bin/sh
set -e
if [ "$1" = remove ]; then
  update-alternatives --remove cuda /usr/local/cuda-12.1
  update-alternatives --remove cuda-12 /usr/local/cuda-12.1
fi
SH
chmod 0755 "$P/DEBIAN/postinst" "$P/DEBIAN/prerm"
build1804

for v in 8.9.0.131-1+cuda12.1 8.9.0.131-1+cuda11.8 8.9.2.26-1+cuda11.8; do
  pkg libcudnn8 "$v" "" "cuDNN runtime libraries"
  mkdir -p "$P/usr/lib/x86_64-linux-gnu" "$P/usr/share/doc/libcudnn8"
  : >"$P/usr/lib/x86_64-linux-gnu/libcudnn.so.8"
  echo "test double of libcudnn8 $v" >"$P/usr/share/doc/libcudnn8/README.dlrig"
  build1804
  pkg libcudnn8-dev "$v" "libcudnn8 (= $v)" "cuDNN development libraries and headers"
  mkdir -p "$P/usr/include/x86_64-linux-gnu"
  IFS=. read -r maj min pat _ <<<"${v%%-*}"
  printf '#define CUDNN_MAJOR %s\n#define CUDNN_MINOR %s\n#define CUDNN_PATCHLEVEL %s\n' "$maj" "$min" "$pat" \
    >"$P/usr/include/x86_64-linux-gnu/cudnn_version_v8.h"
  build1804
done
