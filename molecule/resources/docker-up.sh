#!/usr/bin/env bash
# Start the suite's own Docker engine (or reuse the one already answering on our socket) and
# print the line that points Docker clients, Molecule and testinfra at it:
#     eval "$(molecule/resources/docker-up.sh)"
# Set-up that works on these machines (see shared/reference/molecule-here.md): no bridge, no
# iptables (containers use host networking), data and exec roots under $DLRIG_MOLECULE_WORK.
# Stop it with molecule/resources/docker-down.sh.
set -euo pipefail
# shellcheck source=molecule/resources/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
W=$DLRIG_MOLECULE_WORK

answering() { DOCKER_HOST=$DLRIG_DOCKER_HOST timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if answering; then
  dlrig_log "dockerd already running on $DLRIG_DOCKER_SOCK (pid $(cat "$W/dockerd.pid" 2>/dev/null || echo '?'))"
else
  command -v dockerd >/dev/null || dlrig_die "dockerd not found: run molecule/resources/host-prereqs.sh (as root)"
  [ "$(id -u)" = 0 ] || dlrig_die "starting dockerd needs root"
  mkdir -p "$W/data" "$W/exec"
  # A stale pid file or socket from a killed run would make dockerd refuse to start.
  if [ -s "$W/dockerd.pid" ] && kill -0 "$(cat "$W/dockerd.pid")" 2>/dev/null; then
    dlrig_die "dockerd (pid $(cat "$W/dockerd.pid")) runs but does not answer on $DLRIG_DOCKER_SOCK; see $W/dockerd.log or run docker-down.sh"
  fi
  rm -f "$W/dockerd.pid" "$DLRIG_DOCKER_SOCK"
  dlrig_log "starting dockerd (data root $W/data, log $W/dockerd.log)"
  # setsid: the engine outlives the shell that started it and gets no terminal signals.
  setsid dockerd --data-root "$W/data" --exec-root "$W/exec" -H "$DLRIG_DOCKER_HOST" \
    --pidfile "$W/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
    </dev/null >"$W/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    answering && break
    kill -0 $! 2>/dev/null || { tail -n 20 "$W/dockerd.log" >&2; dlrig_die "dockerd exited; log: $W/dockerd.log"; }
    sleep 1
  done
  answering || { tail -n 20 "$W/dockerd.log" >&2; dlrig_die "dockerd did not answer within 60 s; log: $W/dockerd.log"; }
  dlrig_log "dockerd up: $(DOCKER_HOST=$DLRIG_DOCKER_HOST docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
fi
echo "export DOCKER_HOST=$DLRIG_DOCKER_HOST"
