#!/usr/bin/env bash
# CPU per thread group of the local Kafka broker's JVM, every N seconds, until the broker stops or you
# press Ctrl-C: shows whether the broker's JIT compiler threads ("C1/C2 CompilerThre") or its request
# handlers ("data-plane-kafk") take the cores. Used for the fresh-broker finding of
# docs/experiments/rule_26.md:
#   make stack-up && scripts/broker_threads.sh 5 & .venv/bin/imon bench --latency-warmup-seconds 0 ...
# Output: one line per interval, CPU ticks (1/100 s) per thread group, largest first.
set -euo pipefail
interval="${1:-5}"
pidfile="$(dirname "$0")/../.stack/run/kafka.pid"
[[ -f "$pidfile" ]] || { echo "broker_threads: no $pidfile (make stack-up first)" >&2; exit 2; }
pid="$(cat "$pidfile")"
snapshot() {  # "group ticks" per thread; digits in thread names folded so a pool is one group
  for t in /proc/"$pid"/task/*; do
    local stat name
    stat="$(cat "$t/stat" 2>/dev/null)" || continue
    name="$(cat "$t/comm" 2>/dev/null | tr -d ' ' | sed 's/[0-9]\+/#/g')"
    set -- ${stat##*) }
    echo "$name $(( ${12} + ${13} ))"
  done
}
prev="$(snapshot)"
while kill -0 "$pid" 2>/dev/null; do
  sleep "$interval"
  cur="$(snapshot)"
  printf '%s ' "$(date +%T)"
  join -a2 <(echo "$prev" | awk '{a[$1]+=$2} END {for (k in a) print k, a[k]}' | sort) \
           <(echo "$cur" | awk '{a[$1]+=$2} END {for (k in a) print k, a[k]}' | sort) |
    awk 'NF==3 {d=$3-$2} NF==2 {d=$2} d>0 {print d, $1}' | sort -rn | head -6 | tr '\n' ';'
  echo
  prev="$cur"
done
