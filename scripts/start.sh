#!/bin/sh
# Runs the built service; `npm start` calls this. On a node limited to one
# core (an affinity mask, or a cgroup CPU limit of one core or less),
# V8's parallel GC helper threads wait for the core the event loop needs, so
# there garbage is collected on one thread (docs/operations.md#a-node-on-one-core).
# It is a start-up flag: V8 crashes if it is set later, and Node refuses it in NODE_OPTIONS.
main="$(dirname "$0")/../dist/src/main.js"
cores=$(nproc)
# A CPU quota of `quota` per `period` microseconds, rounded up to whole cores, lowers `cores`.
limit_cores() {
  case "$1" in max | -1 | "") return ;; esac
  if [ "$2" -gt 0 ]; then
    limit=$(( ($1 + $2 - 1) / $2 ))
    if [ "$limit" -lt "$cores" ]; then cores=$limit; fi
  fi
}
# TRIBUTARY_CGROUP_ROOT reads another cgroup tree instead (the tests do).
cgroup=${TRIBUTARY_CGROUP_ROOT:-/sys/fs/cgroup}
if [ -r "$cgroup/cpu.max" ]; then
  # cgroup v2: "<quota|max> <period>"
  read -r quota period < "$cgroup/cpu.max"
  limit_cores "$quota" "$period"
elif [ -r "$cgroup/cpu/cpu.cfs_quota_us" ] && [ -r "$cgroup/cpu/cpu.cfs_period_us" ]; then
  # cgroup v1: the quota (-1 for none) and the period in files of their own
  limit_cores "$(cat "$cgroup/cpu/cpu.cfs_quota_us")" "$(cat "$cgroup/cpu/cpu.cfs_period_us")"
fi
if [ "$cores" -le 1 ]; then exec node --single-threaded-gc "$main" "$@"; fi
exec node "$main" "$@"
