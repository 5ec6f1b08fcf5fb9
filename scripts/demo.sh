#!/usr/bin/env bash
# make demo: a real Heat on 127.0.0.1, the driver on its embedded defaults
# (embedded Kafka broker), and the example package docs/examples/hello-stack
# created and then deleted through the driver's API, with every Kafka
# message printed as it arrives. Everything started here is stopped on exit.
#
# Environment: DEMO_HEAT_PORT (8004), DEMO_DRIVER_LISTEN (127.0.0.1:8292),
#   DEMO_KAFKA_LISTEN (127.0.0.1:9092)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STATE="$REPO/.state/demo"
HEAT_PORT="${DEMO_HEAT_PORT:-8004}"
LISTEN="${DEMO_DRIVER_LISTEN:-127.0.0.1:8292}"
KAFKA="${DEMO_KAFKA_LISTEN:-127.0.0.1:9092}"
BIN="$REPO/bin/openstack-driver"
DRIVER_PID=""

step() { printf '\n==> %s\n' "$*"; }

cleanup() {
  step "stopping what the demo started"
  if [ -n "$DRIVER_PID" ] && kill -0 "$DRIVER_PID" 2>/dev/null; then
    kill -TERM "$DRIVER_PID"; wait "$DRIVER_PID" 2>/dev/null || true
  fi
  HEAT_PORT="$HEAT_PORT" HEAT_STATE_DIR="$STATE/heat" \
    bash scripts/openstack/heat.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "installing Heat from Debian's packages when missing"
bash scripts/openstack/install.sh

step "building the driver"
go build -o "$BIN" ./cmd/openstack-driver

step "starting a standalone Heat (no Keystone) on 127.0.0.1:$HEAT_PORT"
rm -rf "$STATE"; mkdir -p "$STATE"
HEAT_URL=$(HEAT_PORT="$HEAT_PORT" HEAT_STATE_DIR="$STATE/heat" \
  bash scripts/openstack/heat.sh start | sed -n 's/^HEAT_URL=//p')
echo "Heat: $HEAT_URL"

step "starting the driver on $LISTEN with the embedded Kafka broker on $KAFKA"
DRIVER_LISTEN="$LISTEN" DRIVER_EMBEDDED_KAFKA_LISTEN="$KAFKA" \
  DRIVER_DATA_DIR="$STATE/data" "$BIN" >"$STATE/driver.log" 2>&1 &
DRIVER_PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://$LISTEN/management/ready" >/dev/null 2>&1 && break
  kill -0 "$DRIVER_PID" 2>/dev/null || { cat "$STATE/driver.log"; exit 1; }
  sleep 0.2
done
curl -sf "http://$LISTEN/management/ready" >/dev/null \
  || { echo "driver not ready; log:"; cat "$STATE/driver.log"; exit 1; }
echo "driver log: $STATE/driver.log"

cat >"$STATE/location.yaml" <<LOC
name: demo-heat
type: Openstack
properties:
  os_api_url: $HEAT_URL
  os_auth_enabled: false
LOC

step "Create of docs/examples/hello-stack"
"$BIN" testdrive create --driver "http://$LISTEN" --kafka-brokers "$KAFKA" \
  --location "$STATE/location.yaml" --resource-name demo-hello \
  --prop greeting=hello --prop length=16 docs/examples/hello-stack \
  | tee "$STATE/create.out"
STACK_ID=$(sed -n 's/^STACK_ID=//p' "$STATE/create.out")

step "Delete of stack $STACK_ID"
"$BIN" testdrive delete --driver "http://$LISTEN" --kafka-brokers "$KAFKA" \
  --location "$STATE/location.yaml" --stack-id "$STACK_ID"

step "demo finished: Create -> COMPLETE with outputs, Delete -> COMPLETE"
