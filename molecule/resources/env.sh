# shellcheck shell=bash
# Shared settings of the Molecule infrastructure scripts (sourced, not run).
# Override any of them in the environment before calling the scripts.
#   DLRIG_MOLECULE_WORK  work dir: Docker data/exec roots, socket, pid files, logs, rootfs builds
#   DLRIG_MIRROR_PORT    port of the local apt mirror on 127.0.0.1
#   DLRIG_STALL_PORT     port of env-interrupt's stalling package index on 127.0.0.1 (default 8799)
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

# Host folders bind-mounted read-only into the Molecule target (molecule/default/molecule.yml): the
# local wheel folders pip's find-links / extra indexes name on these machines, and the host's extra CA
# certificates. A folder this host lacks is replaced by an empty one, so the container still starts.
dlrig_host_dir() {  # dlrig_host_dir DEFAULT: DEFAULT when it exists, else an empty folder under the work dir
  if [ -d "$1" ]; then echo "$1"
  else local e=$DLRIG_MOLECULE_WORK/empty/${1//\//_}; mkdir -p "$e" && echo "$e"; fi
}
DLRIG_WHEELS_DIR=${DLRIG_WHEELS_DIR:-$(dlrig_host_dir /opt/wheels)}
DLRIG_PYPI_DIR=${DLRIG_PYPI_DIR:-$(dlrig_host_dir /opt/pypi)}
DLRIG_PYPI_MORE_DIR=${DLRIG_PYPI_MORE_DIR:-$(dlrig_host_dir /opt/pypi-more)}
DLRIG_HOST_CA_DIR=${DLRIG_HOST_CA_DIR:-$(dlrig_host_dir /usr/local/share/ca-certificates)}
export DLRIG_WHEELS_DIR DLRIG_PYPI_DIR DLRIG_PYPI_MORE_DIR DLRIG_HOST_CA_DIR

# The environment Molecule needs, as lines to eval (infra-up.sh prints them).
dlrig_exports() {
  local v
  echo "export DOCKER_HOST=$DLRIG_DOCKER_HOST"
  for v in DLRIG_WHEELS_DIR DLRIG_PYPI_DIR DLRIG_PYPI_MORE_DIR DLRIG_HOST_CA_DIR DLRIG_MIRROR_PORT DLRIG_MIRROR_URL \
    DLRIG_MIRROR_DIR; do
    echo "export $v=${!v}"
  done
}

dlrig_log() { printf '[dlrig-molecule] %s\n' "$*" >&2; }
dlrig_die() { printf '[dlrig-molecule] ERROR: %s\n' "$*" >&2; exit 1; }
