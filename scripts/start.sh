#!/bin/sh
# Runs the built service; `npm start` calls this. On a node limited to one
# core (an affinity mask, or a cgroup v2 CPU limit of one core or less),
# V8's parallel GC helper threads wait for the core the event loop needs, so
# there garbage is collected on one thread (docs/operations.md#a-node-on-one-core).
# It is a start-up flag: V8 crashes if it is set later, and Node refuses it in NODE_OPTIONS.
main="$(dirname "$0")/../dist/src/main.js"
cores=$(nproc)
# TRIBUTARY_CPU_MAX_FILE reads another file in cpu.max's format instead (the tests do).
cpu_max=${TRIBUTARY_CPU_MAX_FILE:-/sys/fs/cgroup/cpu.max}
if [ -r "$cpu_max" ]; then
  read -r quota period < "$cpu_max"
  if [ "$quota" != max ] && [ "$period" -gt 0 ]; then
    limit=$(( (quota + period - 1) / period ))
    if [ "$limit" -lt "$cores" ]; then cores=$limit; fi
  fi
fi
if [ "$cores" -le 1 ]; then exec node --single-threaded-gc "$main" "$@"; fi
exec node "$main" "$@"
