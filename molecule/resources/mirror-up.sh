#!/usr/bin/env bash
# Build the local apt mirror (a signed flat repository of dummy NVIDIA packages, written by
# molecule/resources/apt-mirror/build.sh) and serve it on http://127.0.0.1:$DLRIG_MIRROR_PORT/
# in the background (pid file $DLRIG_MOLECULE_WORK/mirror.pid; stop with mirror-down.sh).
# The repository's public key is served as /dlrig-test-archive-keyring.gpg.
# The build is skipped when nothing under apt-mirror/ changed since the last one.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=molecule/resources/env.sh
. "$HERE/env.sh"
W=$DLRIG_MOLECULE_WORK
BUILD=$HERE/apt-mirror/build.sh
OUT=$DLRIG_MIRROR_DIR
KEYRING=dlrig-test-archive-keyring.gpg

if [ ! -f "$BUILD" ]; then
  dlrig_log "SKIP apt mirror: $BUILD does not exist yet"
  exit 0
fi
mkdir -p "$W"
stamp=$(cd "$HERE/apt-mirror" && find . -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ "$(cat "$OUT/.dlrig-stamp" 2>/dev/null)" = "$stamp" ] && [ -s "$OUT/$KEYRING" ]; then
  dlrig_log "apt mirror in $OUT is up to date"
else
  t0=$SECONDS
  dlrig_log "building the apt mirror into $OUT"
  rm -rf "$OUT.new"; mkdir -p "$OUT.new"
  bash "$BUILD" "$OUT.new" >"$W/apt-mirror-build.log" 2>&1 \
    || { tail -n 30 "$W/apt-mirror-build.log" >&2; dlrig_die "$BUILD failed; log: $W/apt-mirror-build.log"; }
  [ -s "$OUT.new/$KEYRING" ] || dlrig_die "$BUILD wrote no $KEYRING in its output directory"
  echo "$stamp" >"$OUT.new/.dlrig-stamp"
  rm -rf "$OUT"; mv "$OUT.new" "$OUT"
  dlrig_log "apt mirror built in $((SECONDS - t0)) s"
fi

serving() { python3 - "$DLRIG_MIRROR_URL/$KEYRING" <<'PY' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=5).status == 200 else 1)
PY
}
pidf=$W/mirror.pid
if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
  # http.server serves the directory it was started in; the rebuild above replaced that directory.
  if [ "$(readlink "/proc/$(cat "$pidf")/cwd")" = "$OUT" ] && serving; then
    dlrig_log "apt mirror already served at $DLRIG_MIRROR_URL/ (pid $(cat "$pidf"))"; exit 0
  fi
  kill "$(cat "$pidf")" 2>/dev/null || true; sleep 1
fi
rm -f "$pidf"
serving && dlrig_die "port $DLRIG_MIRROR_PORT answers but is not our mirror server: stop it or set DLRIG_MIRROR_PORT"
(cd "$OUT" && exec setsid python3 -m http.server --bind 127.0.0.1 "$DLRIG_MIRROR_PORT" \
   </dev/null >"$W/mirror.log" 2>&1) &
echo $! >"$pidf"
for _ in $(seq 1 20); do serving && break; sleep 0.5; done
serving || { tail -n 20 "$W/mirror.log" >&2; dlrig_die "the mirror server did not come up; log: $W/mirror.log"; }
dlrig_log "apt mirror served at $DLRIG_MIRROR_URL/ (pid $(cat "$pidf"), key $DLRIG_MIRROR_URL/$KEYRING)"
