#!/usr/bin/env bash
# dlrig's whole test suite (what `bin/dlrig test` and CI run), failing fast, in this order:
#   1. lint         yamllint, ansible-lint --offline (production profile), ruff, mypy
#   2. pytest       pytest tests
#   3. infra        host packages (as root, when missing), the suite's own dockerd, target images
#   4. mirror       build and serve the local apt mirror on 127.0.0.1:$DLRIG_MIRROR_PORT
#   5. molecule     every scenario under molecule/ (default first)
#   6. teardown     stop the mirror server and dockerd that this run started (trap)
# Options:
#   --no-molecule        stages 1-2 only
#   --only-molecule      stages 3-6 only
#   --scenario NAME      only this Molecule scenario (repeatable)
# Environment: DLRIG_KEEP_INFRA=1 leaves dockerd, the mirror and a failed scenario's container up
# for debugging; DLRIG_MOLECULE_TIMEOUT (seconds, default 2400) bounds each Molecule step, so that a
# hang fails with its name well inside CI's 90 minutes; DLRIG_MOLECULE_WORK, DLRIG_MIRROR_PORT: see
# molecule/resources/env.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RES=$ROOT/molecule/resources
# shellcheck source=molecule/resources/env.sh
. "$RES/env.sh"

run_lint=1 run_pytest=1 run_molecule=1 scenarios=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-molecule) run_molecule=0 ;;
    --only-molecule) run_lint=0 run_pytest=0 ;;
    --scenario) scenarios+=("${2:?--scenario needs a name}"); shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-suite: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# Molecule shells out to ansible-config & co: the controller venv must be first on PATH.
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$ROOT/.venv/bin/activate" ]; then
  # shellcheck source=/dev/null
  . "$ROOT/.venv/bin/activate"
fi
export ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-$ROOT/ansible.cfg} ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export PY_COLORS=${PY_COLORS:-0} MOLECULE_NO_LOG=${MOLECULE_NO_LOG:-false}

SUITE_T0=$SECONDS
TIMES=()
heading() { printf '\n===== %s =====\n' "$*"; }
fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
record() { TIMES+=("$(printf '%-44s %s' "$1" "$(fmt "$2")")"); printf -- '----- %s: %s\n' "$1" "$(fmt "$2")"; }
stage() {  # stage NAME command...: run with a heading, time it, stop the suite when it fails
  local name=$1 t0=$SECONDS rc=0; shift
  heading "$name"
  "$@" || rc=$?
  record "$name" $((SECONDS - t0))
  if [ $rc -ne 0 ]; then printf '\nFAILED: %s (exit %d)\n' "$name" "$rc" >&2; exit $rc; fi
}
summary() {
  [ ${#TIMES[@]} -gt 0 ] || return 0
  heading "wall times"
  printf '%s\n' "${TIMES[@]}"
  printf '%-44s %s\n' "total" "$(fmt $((SECONDS - SUITE_T0)))"
}

# --- teardown: only what this run started; a dockerd or mirror that was already up is left alone.
started_docker=0 started_mirror=0 current_scenario=""
teardown() {
  local rc=$?
  set +e
  if [ "${DLRIG_KEEP_INFRA:-0}" = 1 ]; then
    [ $started_docker = 1 ] && echo "DLRIG_KEEP_INFRA=1: dockerd left running; export DOCKER_HOST=$DLRIG_DOCKER_HOST"
    summary; return $rc
  fi
  if [ -n "$current_scenario" ]; then
    heading "teardown: destroy scenario $current_scenario"
    (cd "$ROOT" && molecule destroy -s "$current_scenario") >/dev/null 2>&1
  fi
  if [ $started_mirror = 1 ] || [ $started_docker = 1 ]; then heading "teardown"; fi
  [ $started_mirror = 1 ] && "$RES/mirror-down.sh"
  [ $started_docker = 1 ] && "$RES/docker-down.sh"
  summary
  return $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. lint ----------------------------------------------------------------------------------
lint_yaml() { yamllint --strict . && ansible-lint --offline --nocolor; }
lint_python() { ruff check . && mypy; }

# --- 2. pytest: exit 5 ("no tests collected") is a failure, there are tests --------------------
run_pytest() {
  local rc=0
  pytest tests || rc=$?
  [ $rc -eq 5 ] && echo "pytest collected no tests: that is a failure here" >&2
  return $rc
}

# --- 3./4. infrastructure ---------------------------------------------------------------------
# (These functions run under `stage`, where `set -e` does not apply: every step says `|| return`.)
infra_docker() {
  local export_line
  "$RES/host-prereqs.sh" || return
  if ! DOCKER_HOST=$DLRIG_DOCKER_HOST timeout 10 docker version >/dev/null 2>&1; then started_docker=1; fi
  export_line=$("$RES/docker-up.sh") || return
  eval "$export_line"
  "$RES/build-images.sh" || return
  docker images --filter reference='local/dlrig-*' --format '{{.Repository}}  {{.Size}}  created {{.CreatedSince}}'
}
infra_mirror() {
  [ -s "$DLRIG_MOLECULE_WORK/mirror.pid" ] && kill -0 "$(cat "$DLRIG_MOLECULE_WORK/mirror.pid")" 2>/dev/null \
    || started_mirror=1
  "$RES/mirror-up.sh" || return
}

# --- 5. molecule ------------------------------------------------------------------------------
# molecule/opt-in.txt names scenarios that run only when asked for (--scenario NAME), one a line with
# its reason: a scenario joins the default suite once it has passed end to end on a quiet 2-core machine
# inside CI's time budget (README, "Tests").
opt_in() { [ -f molecule/opt-in.txt ] && grep -qx "$1\b.*" <(sed -E 's/[[:space:]]+#.*//' molecule/opt-in.txt); }
list_scenarios() {  # default first, then the others by name; opt-in scenarios only by --scenario
  local d
  [ -f molecule/default/molecule.yml ] && echo default
  for d in molecule/*/molecule.yml; do
    [ -f "$d" ] || continue
    d=$(basename "$(dirname "$d")")
    [ "$d" = default ] && continue
    if opt_in "$d"; then echo "scenario $d: opt-in (molecule/opt-in.txt), run it with --scenario $d" >&2; continue; fi
    echo "$d"
  done
}
STEP_TIMEOUT=${DLRIG_MOLECULE_TIMEOUT:-2400}
bounded() {  # bounded command...: the command, killed (with its children) after $STEP_TIMEOUT s
  local rc=0
  timeout -k 60 "$STEP_TIMEOUT" "$@" || rc=$?
  [ $rc -eq 124 ] && echo "TIMEOUT: '$*' ran longer than $STEP_TIMEOUT s (DLRIG_MOLECULE_TIMEOUT)" >&2
  return $rc
}
timed_step() {  # timed_step SCENARIO STEP: one molecule step, its wall time recorded
  local t0=$SECONDS
  printf -- '--- molecule %s -s %s\n' "$2" "$1"
  bounded molecule "$2" -s "$1" || return
  STEP_SECONDS[$2]=$((SECONDS - t0))
  record "  $1: $2" "${STEP_SECONDS[$2]}"
}
timed_check() {  # timed_check SCENARIO: --check on the unprovisioned host, which must stay untouched
  local t0=$SECONDS
  printf -- '--- check-changes-nothing.sh %s\n' "$1"
  bounded "$RES/check-changes-nothing.sh" "$1" "$(scenario_list "$1" instances | head -n 1)" || return
  record "  $1: check (--check on the fresh host)" $((SECONDS - t0))
}
declare -A STEP_SECONDS=()
scenario_list() {  # scenario_list SCENARIO steps|instances: from its molecule.yml, one a line
  # steps: scenario.test_sequence; instances: the platform names = its container names in the engine.
  python3 - "molecule/$1/molecule.yml" "$2" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
steps = sys.argv[2] == "steps"
print("\n".join(doc["scenario"]["test_sequence"] if steps else [p["name"] for p in doc["platforms"]]))
PY
}
check_instances_free() {
  # Container names are global to an engine. On an engine this run did not start (somebody's
  # infra-up.sh), a scenario's first `destroy` would remove a container of the same name that
  # another checkout is using: refuse, unless DLRIG_REPLACE_INSTANCES=1.
  local n busy=()
  [ $started_docker = 0 ] && [ "${DLRIG_REPLACE_INSTANCES:-0}" != 1 ] || return 0
  for n in $(scenario_list "$1" instances); do
    docker container inspect "$n" >/dev/null 2>&1 && busy+=("$n")
  done
  [ ${#busy[@]} -eq 0 ] && return 0
  echo "scenario $1: container(s) ${busy[*]} already exist in the shared engine $DOCKER_HOST." >&2
  echo "  Another checkout may be using them. Remove them yourself (molecule destroy -s $1) when they" >&2
  echo "  are yours, set DLRIG_REPLACE_INSTANCES=1, or use a private engine: DLRIG_MOLECULE_WORK=/var/tmp/other." >&2
  return 1
}
run_scenario() {
  local s=$1
  check_instances_free "$s" || return
  current_scenario=$s
  if [ "$s" = default ]; then
    # The steps of `molecule test`, one by one, so that the first converge and the idempotent
    # second run are timed separately (the issue asks for both figures).
    # The sequence is the scenario's own test_sequence; its `check` step (a --check run on the
    # fresh host) runs through check-changes-nothing.sh, which also proves the run changed nothing.
    local step
    for step in $(scenario_list "$s" steps); do
      if [ "$step" = check ]; then
        timed_check "$s" || return
      else
        timed_step "$s" "$step" || return
      fi
    done
    local c=${STEP_SECONDS[converge]} i=${STEP_SECONDS[idempotence]}
    TIMES+=("$(printf '  %s: first converge %s, idempotent second run %s (%d %%)' \
      "$s" "$(fmt "$c")" "$(fmt "$i")" $((100 * i / (c > 0 ? c : 1))))")
  else
    bounded molecule test -s "$s" || return
  fi
  current_scenario=""
}
run_molecule() {
  local s
  [ ${#scenarios[@]} -gt 0 ] || mapfile -t scenarios < <(list_scenarios)
  [ ${#scenarios[@]} -gt 0 ] || { echo "no Molecule scenario found under molecule/" >&2; return 1; }
  echo "scenarios: ${scenarios[*]}"
  export DOCKER_HOST=$DLRIG_DOCKER_HOST
  for s in "${scenarios[@]}"; do
    [ -f "molecule/$s/molecule.yml" ] || { echo "no scenario molecule/$s" >&2; return 1; }
    stage "molecule scenario $s" run_scenario "$s"
  done
}

[ $run_lint = 1 ] && stage "1a. lint: yamllint + ansible-lint" lint_yaml
[ $run_lint = 1 ] && stage "1b. lint: ruff + mypy" lint_python
[ $run_pytest = 1 ] && stage "2. pytest" run_pytest
if [ $run_molecule = 1 ]; then
  stage "3. infrastructure: host packages, dockerd, images" infra_docker
  stage "4. local apt mirror" infra_mirror
  heading "5. molecule"
  run_molecule
fi
heading "PASSED"
