#!/usr/bin/env bash
# The local stack of interaction-monitor, without Docker: Apache Kafka 4.0 (KRaft, from Maven
# Central), Prometheus and Alertmanager (Debian packages). Everything lives in .stack/.
#
#   stack/stack.sh install   resolve Kafka jars, install Prometheus/Alertmanager if missing
#   stack/stack.sh up        install if needed, then start what is not running; wait until ready
#   stack/stack.sh down      stop everything (data is kept; `clean` removes it)
#   stack/stack.sh status    what runs, on which port
#   stack/stack.sh clean     down + remove data and logs
#   stack/stack.sh restart-kafka   stop and start the broker only (fault tests use it)
#
# Ports (environment overrides): IMON_STACK_KAFKA_PORT=9092, IMON_STACK_CONTROLLER_PORT=9097,
# IMON_STACK_PROMETHEUS_PORT=9090, IMON_STACK_ALERTMANAGER_PORT=9093.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${IMON_STACK_DIR:-$REPO/.stack}"
KAFKA_PORT="${IMON_STACK_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${IMON_STACK_CONTROLLER_PORT:-9097}"
PROMETHEUS_PORT="${IMON_STACK_PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${IMON_STACK_ALERTMANAGER_PORT:-9093}"
KAFKA_HEAP="${IMON_STACK_KAFKA_HEAP:-768m}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

need() {  # need CMD "how to get it"
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() {  # pid_alive NAME
  local f="$STACK/run/$1.pid"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_port() {  # wait_port NAME PORT SECONDS LOGFILE
  local name=$1 port=$2 secs=$3 logf=$4 i
  for ((i = 0; i < secs * 4; i++)); do
    port_open "$port" && return 0
    pid_alive "$name" || { tail -n 30 "$logf" >&2 || true; die "$name exited during start-up (log: $logf)"; }
    sleep 0.25
  done
  tail -n 30 "$logf" >&2 || true
  die "$name did not open port $port within ${secs}s (log: $logf)"
}

check_port_free() {  # check_port_free NAME PORT
  if port_open "$2"; then
    die "port $2 needed by $1 is already in use by another process; stop it or set IMON_STACK_*_PORT"
  fi
}

install_kafka() {
  if compgen -G "$STACK/kafka/libs/kafka_2.13-*.jar" >/dev/null; then return 0; fi
  need java "Install Java 17 (Debian: apt-get install -y openjdk-17-jre-headless)."
  need mvn "Install Maven (Debian: apt-get install -y maven); it resolves the Kafka jars from Maven Central."
  local jv
  jv="$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)"
  [[ "$jv" -ge 17 ]] || die "Kafka 4.0 needs Java 17 or newer (found $jv)"
  log "resolving Apache Kafka and its runtime dependencies from Maven Central ..."
  mkdir -p "$STACK/kafka"
  mvn -q -B -f "$REPO/stack/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$STACK/kafka/libs.tmp" \
    || die "Maven could not resolve the Kafka jars (is Maven Central reachable?)"
  mv "$STACK/kafka/libs.tmp" "$STACK/kafka/libs"
  log "kafka jars: $(ls "$STACK/kafka/libs" | wc -l) files in $STACK/kafka/libs"
}

install_prometheus() {
  if command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null \
    && command -v promtool >/dev/null; then return 0; fi
  command -v apt-get >/dev/null || die "prometheus/alertmanager missing and no apt-get: install them by hand"
  log "installing prometheus and prometheus-alertmanager from Debian's packages ..."
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    prometheus prometheus-alertmanager >/dev/null || die "apt-get install prometheus failed"
}

cmd_install() {
  mkdir -p "$STACK"/{run,logs}
  install_kafka
  install_prometheus
}

render() {  # render IN OUT
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
    -e "s#@PROMETHEUS_PORT@#$PROMETHEUS_PORT#g" -e "s#@ALERTMANAGER_PORT@#$ALERTMANAGER_PORT#g" \
    -e "s#@DATA_DIR@#$STACK/kafka/data#g" -e "s#@REPO@#$REPO#g" -e "s#@STACK@#$STACK#g" "$1" >"$2"
}

start_kafka() {
  if pid_alive kafka; then return 0; fi
  check_port_free kafka "$KAFKA_PORT"
  check_port_free kafka-controller "$CONTROLLER_PORT"
  local cp="$STACK/kafka/libs/*" props="$STACK/kafka/server.properties"
  render "$REPO/stack/kafka/server.properties.in" "$props"
  if [[ ! -f "$STACK/kafka/data/meta.properties" ]]; then
    local cid
    cid="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    java -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$props" >"$STACK/logs/kafka-format.log" 2>&1 \
      || { tail -n 20 "$STACK/logs/kafka-format.log" >&2; die "formatting the Kafka log dir failed"; }
  fi
  log "starting kafka on 127.0.0.1:$KAFKA_PORT (KRaft, data in $STACK/kafka/data)"
  nohup java -Xms256m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info \
    -cp "$cp" kafka.Kafka "$props" >>"$STACK/logs/kafka.log" 2>&1 &
  echo $! >"$STACK/run/kafka.pid"
  wait_port kafka "$KAFKA_PORT" 90 "$STACK/logs/kafka.log"
}

start_alertmanager() {
  if pid_alive alertmanager; then return 0; fi
  check_port_free alertmanager "$ALERTMANAGER_PORT"
  local cfg="$REPO/dashboards/alertmanager/alertmanager.yml"
  if [[ ! -f "$cfg" ]]; then
    cfg="$STACK/alertmanager/fallback.yml"
    mkdir -p "$STACK/alertmanager"
    printf 'route:\n  receiver: webhook\nreceivers:\n  - name: webhook\n    webhook_configs:\n      - url: http://127.0.0.1:5001/alerts\n' >"$cfg"
  fi
  mkdir -p "$STACK/alertmanager/data"
  log "starting alertmanager on 127.0.0.1:$ALERTMANAGER_PORT"
  nohup prometheus-alertmanager --config.file="$cfg" --storage.path="$STACK/alertmanager/data" \
    --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address= \
    >>"$STACK/logs/alertmanager.log" 2>&1 &
  echo $! >"$STACK/run/alertmanager.pid"
  wait_port alertmanager "$ALERTMANAGER_PORT" 30 "$STACK/logs/alertmanager.log"
}

start_prometheus() {
  if pid_alive prometheus; then return 0; fi
  check_port_free prometheus "$PROMETHEUS_PORT"
  mkdir -p "$STACK/prometheus/targets" "$STACK/prometheus/data"
  render "$REPO/stack/prometheus.yml.in" "$STACK/prometheus/prometheus.yml"
  log "starting prometheus on 127.0.0.1:$PROMETHEUS_PORT"
  nohup prometheus --config.file="$STACK/prometheus/prometheus.yml" \
    --storage.tsdb.path="$STACK/prometheus/data" --storage.tsdb.retention.time=2d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle \
    >>"$STACK/logs/prometheus.log" 2>&1 &
  echo $! >"$STACK/run/prometheus.pid"
  wait_port prometheus "$PROMETHEUS_PORT" 30 "$STACK/logs/prometheus.log"
}

stop_one() {  # stop_one NAME
  local f="$STACK/run/$1.pid" pid i
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 120; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

cmd_up() {
  cmd_install
  start_kafka
  start_alertmanager
  start_prometheus
  cmd_status
}

cmd_down() {
  stop_one prometheus
  stop_one alertmanager
  stop_one kafka
}

cmd_status() {
  local name port
  for pair in "kafka:$KAFKA_PORT" "alertmanager:$ALERTMANAGER_PORT" "prometheus:$PROMETHEUS_PORT"; do
    name="${pair%%:*}"; port="${pair##*:}"
    if pid_alive "$name"; then
      printf '%-13s running  pid %-7s 127.0.0.1:%s\n' "$name" "$(cat "$STACK/run/$name.pid")" "$port"
    else
      printf '%-13s stopped\n' "$name"
    fi
  done
}

case "${1:-}" in
  install) cmd_install ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  clean) cmd_down; rm -rf "$STACK/kafka/data" "$STACK/prometheus/data" "$STACK/alertmanager/data" "$STACK/logs" ;;
  restart-kafka) stop_one kafka; mkdir -p "$STACK"/{run,logs}; start_kafka ;;
  stop-kafka) stop_one kafka ;;
  start-kafka) mkdir -p "$STACK"/{run,logs}; start_kafka ;;
  stop-alertmanager) stop_one alertmanager ;;
  start-alertmanager) mkdir -p "$STACK"/{run,logs}; start_alertmanager ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
