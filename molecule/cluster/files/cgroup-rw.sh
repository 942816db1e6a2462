#!/bin/sh
# dlrig cluster scenario, a test scaffold run once in each container by prepare.yml (ansible.builtin.script: one
# round trip instead of one per controller and per step). It gives the container what a real host has and Docker
# withholds, so that Slurm's proctrack/cgroup and task/cgroup (ConstrainDevices) run for real:
#  - a writable cgroup v1 tree: in the container's own cgroup namespace (molecule.yml: cgroupns_mode private)
#    each controller is mounted again, read-write, beside Docker's read-only mount, then bound over it. Inside
#    the namespace that is the container's own subtree, nothing of the host's;
#  - NVIDIA's device numbers in the container's device cgroup, one minor at a time (Slurm's per-job deny of a
#    minor does not take away a wildcard "c 195:* rwm" entry);
#  - /dev/nvidia0 as a character device 195:0 (no driver behind it: opening it gives ENXIO where allowed).
set -eu
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  mkdir -p "/run/dlrig-cgroup/$c"
  mount -t cgroup -o "$c" cgroup "/run/dlrig-cgroup/$c"
  mount --bind "/run/dlrig-cgroup/$c" "/sys/fs/cgroup/$c"
done
for minor in 0 1; do
  echo "c 195:$minor rwm" >/sys/fs/cgroup/devices/devices.allow
done
[ -c /dev/nvidia0 ] || mknod -m 0666 /dev/nvidia0 c 195 0
echo "cgroup v1 controllers read-write, /dev/nvidia0 195:0"
