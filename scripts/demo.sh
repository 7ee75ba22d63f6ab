#!/usr/bin/env bash
# `make demo`: bring the local stack up, start one worker and the traffic simulator, and wait
# until Prometheus holds scored events and alerts. Worker and simulator keep running in the
# background afterwards (logs in .stack/logs/); `make demo-stop` stops them, `make stack-down`
# the stack.
#   DEMO_RATE=20 (events/s)  DEMO_DURATION=900 (s the simulator runs)  DEMO_WAIT=120 (s to wait)
#   DEMO_SEED (the simulator's seed; default: a new one each run, so a second demo on the same stack sends new
#   conversations instead of replaying event ids the worker's state already holds, which it counts as duplicates)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$REPO/.stack"
VENV="$REPO/.venv"
RATE="${DEMO_RATE:-20}"
DURATION="${DEMO_DURATION:-900}"
WAIT="${DEMO_WAIT:-120}"
SEED="${DEMO_SEED:-$(date +%s)}"
PROM="http://127.0.0.1:${IMON_STACK_PROMETHEUS_PORT:-9090}"
export IMON_KAFKA_BOOTSTRAP="${IMON_KAFKA_BOOTSTRAP:-127.0.0.1:${IMON_STACK_KAFKA_PORT:-9092}}"
export IMON_ALERTMANAGER_URL="${IMON_ALERTMANAGER_URL:-http://127.0.0.1:${IMON_STACK_ALERTMANAGER_PORT:-9093}}"
export IMON_PROMETHEUS_SD_DIR="$STACK/prometheus/targets"
export IMON_METRICS_PORT="${IMON_METRICS_PORT:-8000}"

"$REPO/scripts/setup_venv.sh"
"$REPO/stack/stack.sh" up
mkdir -p "$STACK/run" "$STACK/logs"

start_bg() {  # start_bg NAME CMD...
  local name=$1; shift
  local pidf="$STACK/run/$name.pid"
  if [[ -f "$pidf" ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    echo "[demo] $name already running (pid $(cat "$pidf"))"; return 1
  fi
  nohup "$@" >>"$STACK/logs/$name.log" 2>&1 &
  echo $! >"$pidf"
  echo "[demo] started $name (pid $!, log .stack/logs/$name.log)"
}

"$VENV/bin/imon" topics create
# Count only a worker process started by this run: Prometheus keeps an earlier demo worker's counters for minutes.
since=$(( $(date +%s) - 5 ))
start_bg worker "$VENV/bin/imon" worker || since=0
if start_bg simulator "$VENV/bin/imon" simulate --rate "$RATE" --duration "$DURATION" --seed "$SEED" --quiet; then
  echo "[demo] simulator seed $SEED (DEMO_SEED=$SEED replays this run's traffic)"
fi

q() {  # q PROMQL -> scalar value or empty
  curl -fsS --get "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null \
    | "$VENV/bin/python" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true
}

echo "[demo] waiting up to ${WAIT}s for scored events and alerts in Prometheus ..."
t0=$(date +%s)
scored=""; alerts=""; ok=""
mine="and on(instance) (process_start_time_seconds >= $since)"
while (( $(date +%s) - t0 < WAIT )); do
  scored="$(q "sum(imon_events_total{outcome=\"scored\"} $mine)")"
  alerts="$(q "sum(imon_alerts_total $mine)")"
  if [[ -n "$scored" && -n "$alerts" ]] && "$VENV/bin/python" -c "import sys; sys.exit(0 if float('$scored')>0 and float('$alerts')>0 else 1)"; then
    ok=1; break
  fi
  kill -0 "$(cat "$STACK/run/worker.pid")" 2>/dev/null || { tail -n 40 "$STACK/logs/worker.log"; echo "[demo] ERROR: worker exited"; exit 1; }
  sleep 2
done
el=$(( $(date +%s) - t0 ))
if [[ -z "$ok" ]]; then
  echo "[demo] ERROR: no scored events/alerts in Prometheus after ${el}s; see .stack/logs/worker.log" >&2
  exit 1
fi
cat <<MSG
[demo] after ${el}s Prometheus holds ${scored%.*} scored events and ${alerts%.*} alerts.
  Prometheus:    $PROM   (try: sum by (type) (imon_alerts_total))
  Alertmanager:  ${IMON_ALERTMANAGER_URL}
  Worker:        http://127.0.0.1:${IMON_METRICS_PORT}/metrics
  Topics:        interactions -> interactions.scored, alerts, audit, interactions.dlq
  Stop:          make demo-stop   (worker and simulator)   |   make stack-down   (Kafka, Prometheus, Alertmanager)
MSG
