#!/usr/bin/env bash
# Build the Molecule target images into the suite's Docker engine (no registry is reachable here):
#   local/dlrig-bookworm          debootstrap --variant=minbase of Debian 12 + python3, python3-apt,
#                                 ca-certificates, sudo; imported with `docker import`
#   local/dlrig-bookworm-systemd  FROM the above, systemd as PID 1 (images/Dockerfile.systemd)
# An image whose recipe (this script, the Dockerfile) is unchanged is kept: reruns take a second.
# FORCE=1 rebuilds. Needs root (debootstrap) and a running engine (docker-up.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=molecule/resources/env.sh
. "$HERE/env.sh"
export DOCKER_HOST=${DOCKER_HOST:-$DLRIG_DOCKER_HOST} DOCKER_BUILDKIT=0
W=$DLRIG_MOLECULE_WORK
SUITE=bookworm
PACKAGES=python3,python3-apt,ca-certificates,sudo,gpgv,debian-archive-keyring

host_archive() {  # the Debian archive the host's apt already uses (it is reachable), else deb.debian.org
  local uri
  uri=$(grep -h -o -E 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
          /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | tr -d ' ' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${DLRIG_DEBIAN_MIRROR:-$(host_archive)}
MIRROR=${MIRROR%/}
SECURITY=${DLRIG_DEBIAN_SECURITY_MIRROR:-${MIRROR}-security}

# Recipes: a change to this script rebuilds both images, a change to the Dockerfile only the second.
recipe_base=$(sha256sum <"$HERE/build-images.sh" | cut -c1-16)
recipe_systemd=$(cat "$HERE/build-images.sh" "$HERE/images/Dockerfile.systemd" | sha256sum | cut -c1-16)
current() { docker image inspect --format '{{ index .Config.Labels "dlrig.recipe" }}' "$1" 2>/dev/null || true; }

build_base() {
  [ "$(id -u)" = 0 ] || dlrig_die "debootstrap needs root"
  command -v debootstrap >/dev/null || dlrig_die "debootstrap missing: run molecule/resources/host-prereqs.sh"
  local rootfs=$W/rootfs-$SUITE t0=$SECONDS
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  dlrig_log "debootstrap $SUITE (minbase) from $MIRROR"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
    >"$W/debootstrap.log" 2>&1 || { tail -n 20 "$W/debootstrap.log" >&2; dlrig_die "debootstrap failed; log: $W/debootstrap.log"; }
  # The sources a Debian 12 installation has: main, updates and security.
  cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
SRC
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*_* "$rootfs"/tmp/*
  : >"$rootfs/etc/machine-id"
  local t1=$SECONDS
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV DEBIAN_FRONTEND=noninteractive' --change 'CMD ["/bin/bash"]' \
    --change "LABEL dlrig.recipe=$recipe_base" - "$DLRIG_IMAGE" >/dev/null
  rm -rf "$rootfs"
  dlrig_log "built $DLRIG_IMAGE: debootstrap $((t1 - t0)) s, import $((SECONDS - t1)) s"
}

build_systemd() {
  local t0=$SECONDS
  dlrig_log "docker build $DLRIG_IMAGE_SYSTEMD FROM $DLRIG_IMAGE"
  # --network host: with --bridge=none the build could not reach the archive otherwise.
  docker build -q --network host --build-arg BASE="$DLRIG_IMAGE" --label "dlrig.recipe=$recipe_systemd" \
    -t "$DLRIG_IMAGE_SYSTEMD" -f "$HERE/images/Dockerfile.systemd" "$HERE/images" \
    >"$W/build-systemd.log" 2>&1 || { tail -n 20 "$W/build-systemd.log" >&2; dlrig_die "docker build failed"; }
  # A build that could not reach the archive can still "succeed": check the result.
  docker run --rm --network host "$DLRIG_IMAGE_SYSTEMD" test -x /lib/systemd/systemd \
    || dlrig_die "$DLRIG_IMAGE_SYSTEMD has no systemd; see $W/build-systemd.log"
  dlrig_log "built $DLRIG_IMAGE_SYSTEMD in $((SECONDS - t0)) s"
}

mkdir -p "$W"
rebuilt=0
if [ "${FORCE:-0}" = 1 ] || [ "$(current "$DLRIG_IMAGE")" != "$recipe_base" ]; then build_base; rebuilt=1
else dlrig_log "$DLRIG_IMAGE is up to date"; fi
if [ $rebuilt = 1 ] || [ "$(current "$DLRIG_IMAGE_SYSTEMD")" != "$recipe_systemd" ]; then build_systemd; rebuilt=1
else dlrig_log "$DLRIG_IMAGE_SYSTEMD is up to date"; fi
# Drop the images that the rebuilds above replaced (untagged, unused by any container).
[ $rebuilt = 1 ] && docker image prune -f >/dev/null
exit 0
