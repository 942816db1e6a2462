#!/usr/bin/env bash
# check-changes-nothing.sh SCENARIO INSTANCE: run the scenario's converge playbook with --check against
# a host that has not been provisioned yet, and fail when the run failed or when it changed anything
# on the host. "Anything": the installed packages (name and version) and every file under /etc, /opt,
# /usr/local, /var/lib (less apt's lists, dpkg's and systemd's state), /root and /home (path, type,
# size, mtime, link target; a directory's mtime is left out, Ansible's own ~/.ansible/tmp makes /root's
# move). apt's lists are left out because a check run refreshes them on purpose (README, "--check").
# The snapshot runs inside the container through `docker exec` (DOCKER_HOST as for Molecule).
set -euo pipefail
scenario=${1:?usage: check-changes-nothing.sh SCENARIO INSTANCE} instance=${2:?usage: check-changes-nothing.sh SCENARIO INSTANCE}

snapshot() {
  # shellcheck disable=SC2016  # expanded by the container's shell and dpkg-query, not here
  docker exec "$instance" sh -c '
    dpkg-query -W -f "package ${Package} ${Version}\n"
    find /etc /opt /usr/local /var/lib /root /home -xdev \
      \( -path /root/.ansible -o -path /var/lib/apt/lists -o -path /var/lib/dpkg -o -path /var/lib/systemd \) -prune \
      -o -type d -printf "dir %p\n" -o -printf "%y %p %s %T@ %l\n"' | LC_ALL=C sort
}

before=$(mktemp) after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
snapshot >"$before"
echo "snapshot of $instance before the check run: $(grep -c '^package ' "$before") packages, $(grep -vc '^package ' "$before") paths"
molecule converge -s "$scenario" -- --check
snapshot >"$after"
if ! diff -u "$before" "$after"; then
  echo "FAILED: the --check run changed the host $instance (diff above: - before, + after)" >&2
  exit 1
fi
echo "OK: the --check run passed and changed nothing on $instance"
