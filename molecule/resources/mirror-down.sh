#!/usr/bin/env bash
# Stop the local apt mirror's HTTP server (by its pid file).
set -euo pipefail
# shellcheck source=molecule/resources/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
pidf=$DLRIG_MOLECULE_WORK/mirror.pid
if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
  dlrig_log "stopping the apt mirror server (pid $(cat "$pidf"))"
  kill "$(cat "$pidf")" || true
fi
rm -f "$pidf"
