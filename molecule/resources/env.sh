# shellcheck shell=bash
# Shared settings of the Molecule infrastructure scripts (sourced, not run).
# Override any of them in the environment before calling the scripts.
#   DLRIG_MOLECULE_WORK  work dir: Docker data/exec roots, socket, pid files, logs, rootfs builds
#   DLRIG_MIRROR_PORT    port of the local apt mirror on 127.0.0.1
#   DLRIG_DEBIAN_MIRROR  Debian archive for debootstrap (default: the first one the host's apt uses)
DLRIG_ROOT=${DLRIG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DLRIG_MOLECULE_WORK=${DLRIG_MOLECULE_WORK:-/var/tmp/dlrig-molecule}
DLRIG_DOCKER_SOCK=$DLRIG_MOLECULE_WORK/docker.sock
DLRIG_DOCKER_HOST=unix://$DLRIG_DOCKER_SOCK
DLRIG_MIRROR_PORT=${DLRIG_MIRROR_PORT:-8765}
DLRIG_MIRROR_DIR=${DLRIG_MIRROR_DIR:-$DLRIG_MOLECULE_WORK/apt-mirror}
DLRIG_MIRROR_URL=http://127.0.0.1:$DLRIG_MIRROR_PORT
DLRIG_IMAGE=${DLRIG_IMAGE:-local/dlrig-bookworm}
DLRIG_IMAGE_SYSTEMD=${DLRIG_IMAGE_SYSTEMD:-local/dlrig-bookworm-systemd}
export DLRIG_ROOT DLRIG_MOLECULE_WORK DLRIG_DOCKER_SOCK DLRIG_DOCKER_HOST DLRIG_MIRROR_PORT \
  DLRIG_MIRROR_DIR DLRIG_MIRROR_URL DLRIG_IMAGE DLRIG_IMAGE_SYSTEMD

dlrig_log() { printf '[dlrig-molecule] %s\n' "$*" >&2; }
dlrig_die() { printf '[dlrig-molecule] ERROR: %s\n' "$*" >&2; exit 1; }
