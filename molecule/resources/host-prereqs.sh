#!/usr/bin/env bash
# Install the host packages the Molecule scenarios need and a fresh machine lacks:
# docker.io (the engine), debootstrap (the target image), rsync (Molecule), apt-utils
# (apt-ftparchive), gpg and dpkg-dev (the signed test apt repository), python3-pip (the cluster
# scenario's shared torch folder), chromium and chromium-driver (Debian's browser, which the default
# scenario's JupyterLab tests drive headless through Selenium).
# Installs only what is missing; needs root for that. Quiet and non-interactive.
set -euo pipefail
# shellcheck source=molecule/resources/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v rsync >/dev/null || need+=(rsync)
command -v apt-ftparchive >/dev/null || need+=(apt-utils)
command -v gpg >/dev/null || need+=(gpg)
command -v dpkg-scanpackages >/dev/null || need+=(dpkg-dev)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && { dlrig_log "host prerequisites present"; exit 0; }

[ "$(id -u)" = 0 ] || dlrig_die "missing host packages: ${need[*]} — install them (sudo apt-get install ${need[*]}) or run as root"
command -v apt-get >/dev/null || dlrig_die "missing host packages: ${need[*]} and no apt-get to install them"
dlrig_log "installing host packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$DLRIG_MOLECULE_WORK"
log=$DLRIG_MOLECULE_WORK/host-prereqs.log
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${need[@]}"; } \
  </dev/null >"$log" 2>&1 || { tail -n 30 "$log" >&2; dlrig_die "apt-get failed (full log: $log)"; }
# On a host with systemd the package also starts its own docker.service on /var/run/docker.sock;
# the suite does not use it: it runs its own dockerd (docker-up.sh) on its own socket.
dlrig_log "installed: ${need[*]}"
