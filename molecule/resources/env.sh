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

# The package mirrors of the Molecule targets, read at run time from the environment or pip's own
# configuration (pip_mirrors.py: DLRIG_TEST_*, PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS, `pip config`):
# DLRIG_TARGET_PIP_* for the inventory, DLRIG_PIP_MOUNT_1..6 for molecule.yml (each local folder that exists,
# read-only at its own path; unused slots an empty folder). Nothing is assumed about this machine's folders.
dlrig_pip_python() {
  local p
  for p in "${DLRIG_PYTHON:-}" "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}" "$DLRIG_ROOT/.venv/bin/python" python3; do
    if [ -n "$p" ] && command -v "$p" >/dev/null 2>&1; then echo "$p"; return; fi
  done
}
if [ -z "${DLRIG_PIP_MOUNT_1:-}" ]; then
  eval "$(DLRIG_MOLECULE_WORK=$DLRIG_MOLECULE_WORK "$(dlrig_pip_python)" "$DLRIG_ROOT/molecule/resources/pip_mirrors.py")"
fi
export DLRIG_TARGET_PIP_INDEX_URL DLRIG_TARGET_PIP_EXTRA_INDEX_URLS DLRIG_TARGET_PIP_FIND_LINKS DLRIG_PIP_MOUNT_1 \
  DLRIG_PIP_MOUNT_2 DLRIG_PIP_MOUNT_3 DLRIG_PIP_MOUNT_4 DLRIG_PIP_MOUNT_5 DLRIG_PIP_MOUNT_6
# The host's extra CA certificates, mounted into the targets (a TLS-inspecting proxy's CA): the system's
# folder of extra CAs when there is one, else an empty folder.
if [ -z "${DLRIG_HOST_CA_DIR:-}" ]; then
  if [ -d /usr/local/share/ca-certificates ]; then DLRIG_HOST_CA_DIR=/usr/local/share/ca-certificates
  else DLRIG_HOST_CA_DIR=$DLRIG_MOLECULE_WORK/empty/ca-certificates; mkdir -p "$DLRIG_HOST_CA_DIR"; fi
fi
export DLRIG_HOST_CA_DIR

# The environment Molecule needs, as lines to eval (infra-up.sh prints them).
dlrig_exports() {
  local v
  echo "export DOCKER_HOST=$DLRIG_DOCKER_HOST"
  for v in DLRIG_TARGET_PIP_INDEX_URL DLRIG_TARGET_PIP_EXTRA_INDEX_URLS DLRIG_TARGET_PIP_FIND_LINKS \
    DLRIG_PIP_MOUNT_1 DLRIG_PIP_MOUNT_2 DLRIG_PIP_MOUNT_3 DLRIG_PIP_MOUNT_4 DLRIG_PIP_MOUNT_5 DLRIG_PIP_MOUNT_6 \
    DLRIG_HOST_CA_DIR DLRIG_MIRROR_PORT DLRIG_MIRROR_URL DLRIG_MIRROR_DIR; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
}

dlrig_log() { printf '[dlrig-molecule] %s\n' "$*" >&2; }
dlrig_die() { printf '[dlrig-molecule] ERROR: %s\n' "$*" >&2; exit 1; }
