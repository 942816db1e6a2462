#!/usr/bin/env bash
# Stop the suite's Docker engine (by its pid file) and unmount what it leaves under the exec root.
# Containers still running are stopped with it; images stay in the data root for the next run.
set -euo pipefail
# shellcheck source=molecule/resources/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
W=$DLRIG_MOLECULE_WORK
pidf=$W/dockerd.pid
if [ -s "$pidf" ] && pid=$(cat "$pidf") && kill -0 "$pid" 2>/dev/null; then
  dlrig_log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then dlrig_log "dockerd still alive after 30 s: SIGKILL"; kill -KILL "$pid" || true; sleep 1; fi
else
  dlrig_log "dockerd not running (no live pid in $pidf)"
fi
rm -f "$pidf" "$DLRIG_DOCKER_SOCK"
# dockerd leaves the nsfs of its default network namespace under the exec root (and, after a crash,
# overlay and bind mounts under the data root) behind: unmount everything below the work dir, deepest first.
awk -v root="$W/" 'index($2, root) == 1 { print $2 }' /proc/self/mounts | sort -r |
  while read -r m; do
    dlrig_log "umount $m"
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || dlrig_log "could not umount $m"
  done
exit 0
