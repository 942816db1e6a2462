#!/usr/bin/env bash
# Run Molecule scenarios several times in a row and count passes and failures (issue 17: a scenario
# that passes by luck proves nothing).
#     tests/repeat.sh SCENARIO N [SCENARIO N ...]
# Brings the infrastructure up once (molecule/resources/infra-up.sh: dockerd, images, apt mirror), runs
# `molecule test -s SCENARIO` N times for each pair, keeps each run's log under
# $DLRIG_MOLECULE_WORK/repeat/, tears down what it started, prints one line per scenario and exits 1 when
# any run failed. DLRIG_MOLECULE_TIMEOUT (default 2400 s) bounds each run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RES=$ROOT/molecule/resources
# shellcheck source=molecule/resources/env.sh
. "$RES/env.sh"
[ $# -ge 2 ] && [ $(($# % 2)) -eq 0 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
pairs=("$@")
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  [ -f "molecule/${pairs[i]}/molecule.yml" ] || { echo "repeat: no scenario molecule/${pairs[i]}" >&2; exit 2; }
  [[ ${pairs[i+1]} =~ ^[1-9][0-9]*$ ]] || { echo "repeat: N must be a positive integer, got '${pairs[i+1]}'" >&2; exit 2; }
done
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$ROOT/.venv/bin/activate" ]; then
  # shellcheck source=/dev/null
  . "$ROOT/.venv/bin/activate"
fi
export ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-$ROOT/ansible.cfg} ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

trap '"$RES/infra-down.sh" >/dev/null 2>&1 || true' EXIT
eval "$("$RES/infra-up.sh")"
LOGS=$DLRIG_MOLECULE_WORK/repeat
mkdir -p "$LOGS"
summary=() failed=0
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
  s=${pairs[i]} n=${pairs[i+1]} pass=0 fail=0 times=()
  for ((k = 1; k <= n; k++)); do
    t0=$SECONDS log=$LOGS/$s-$k.log rc=0
    timeout -k 60 "${DLRIG_MOLECULE_TIMEOUT:-2400}" molecule test -s "$s" >"$log" 2>&1 || rc=$?
    dt=$((SECONDS - t0)); times+=("${dt}s")
    if [ $rc -eq 0 ]; then pass=$((pass + 1)); r=passed; else fail=$((fail + 1)); r="FAILED (exit $rc, log $log)"; fi
    printf '[repeat] %s run %d/%d: %s in %d s\n' "$s" "$k" "$n" "$r" "$dt"
  done
  summary+=("$(printf '%-16s %d/%d passed, %d failed (%s)' "$s" "$pass" "$n" "$fail" "${times[*]}")")
  [ $fail -eq 0 ] || failed=1
done
printf '\n===== repeat summary =====\n'
printf '%s\n' "${summary[@]}"
exit $failed
