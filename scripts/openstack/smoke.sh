#!/usr/bin/env bash
# End-to-end check of a running loopback Heat, with curl only.
#
# Why: it is the quickest proof that heat.sh (and keystone.sh) produced a
# Heat that behaves like the real thing for what the driver relies on:
# stacks reach CREATE_COMPLETE, deletes complete, and Test::FailDelete makes
# the first delete fail and the retry succeed. `make demo` and humans can run
# it; the Go integration tests do the same through the driver.
#
# Usage (servers already started):
#   smoke.sh              against noauth heat.sh (HEAT_URL or HEAT_PORT)
#   smoke.sh --keystone   token for demo/DEMO_PASSWORD from keystone.sh; Heat's
#                         URL is taken from the token's catalog
# Exit status 0 only if every step behaved as expected.
set -euo pipefail
OS_NAME=smoke
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

HEAT_PORT="${HEAT_PORT:-8004}"
KS_URL="http://127.0.0.1:${KEYSTONE_PORT:-5000}/v3"
AUTH=()
H="${HEAT_URL:-http://127.0.0.1:$HEAT_PORT/v1/admin}"
PREFIX="smoke-$$"

if [ "${1:-}" = "--keystone" ]; then
  body="$(jq -cn --arg p "${DEMO_PASSWORD:-demopass}" '{auth: {
      identity: {methods: ["password"], password: {user: {name: "demo", domain: {name: "Default"}, password: $p}}},
      scope: {project: {name: "admin", domain: {name: "Default"}}}}}')"
  hdrs="$(mktemp)"; resp="$(mktemp)"
  code="$(curl -s -o "$resp" -D "$hdrs" -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" "$KS_URL/auth/tokens")"
  echo "POST $KS_URL/auth/tokens (demo, project admin, domain Default) -> $code"
  [ "$code" = 201 ] || { cat "$resp"; exit 1; }
  token="$(awk 'tolower($1) == "x-subject-token:" { print $2 }' "$hdrs" | tr -d '\r')"
  project="$(jq -r .token.project.id "$resp")"
  echo "catalog:"
  jq -r '.token.catalog[] | .type as $t | .endpoints[] | "  \($t) \(.interface) \(.region_id) \(.url)"' "$resp"
  H="$(jq -r '.token.catalog[] | select(.type == "orchestration") | .endpoints[] | select(.interface == "public") | .url' "$resp")"
  want="http://127.0.0.1:$HEAT_PORT/v1/$project"
  [ "$H" = "$want" ] || { echo "FAIL: orchestration public endpoint is '$H', expected '$want'"; exit 1; }
  echo "orchestration endpoint OK: $H"
  rm -f "$hdrs" "$resp"
  AUTH=(-H "X-Auth-Token: $token")
  echo "build_info without token -> $(curl -s -o /dev/null -w '%{http_code}' "$H/build_info")"
  echo "build_info with token    -> $(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$H/build_info")"
fi

api() {  # METHOD PATH [JSON]; prints "HTTP_CODE BODY"
  local out code
  out="$(mktemp)"
  code="$(curl -s -o "$out" -w '%{http_code}' -X "$1" "${AUTH[@]}" \
            -H 'Content-Type: application/json' ${3:+-d "$3"} "$H$2")"
  echo "$code $(cat "$out")"; rm -f "$out"
}

# Poll until the stack leaves *_IN_PROGRESS; prints "STATUS reason".
wait_stack() {
  local name="$1" id="$2" i r st
  for ((i = 0; i < 600; i++)); do
    r="$(api GET "/stacks/$name/$id")"
    st="$(jq -r '.stack.stack_status // empty' <<<"${r#* }")"
    case "$st" in
      *_IN_PROGRESS | "") sleep 0.2 ;;
      *) jq -r '.stack | "\(.stack_status) \(.stack_status_reason)"' <<<"${r#* }"; return ;;
    esac
  done
  echo "TIMEOUT"
}

expect() {  # WHAT GOT WANT-PREFIX
  if [[ "$2" == "$3"* ]]; then echo "  ok: $1 -> $2"; else echo "  FAIL: $1 -> $2 (wanted $3...)"; exit 1; fi
}

create() {  # NAME TEMPLATE -> stack id
  local r
  r="$(api POST /stacks "$(jq -cn --arg n "$1" --arg t "$2" '{stack_name: $n, template: $t}')")"
  [ "${r%% *}" = 201 ] || { echo "  FAIL: create $1 -> $r" >&2; exit 1; }
  jq -r .stack.id <<<"${r#* }"
}

delete() {  # NAME ID -> HTTP code
  local r; r="$(api DELETE "/stacks/$1/$2")"; echo "${r%% *}"
}

echo "== Heat at $H"
echo "build_info: $(api GET /build_info)"

TPL_OK='heat_template_version: 2018-08-31
resources:
  rand:
    type: OS::Heat::RandomString
    properties:
      length: 8
  test:
    type: OS::Heat::TestResource
    properties:
      value: {list_join: ["-", ["hello", {get_attr: [rand, value]}]]}
outputs:
  greeting:
    value: {get_attr: [test, output]}'

TPL_FAIL_DELETE='heat_template_version: 2018-08-31
resources:
  sticky:
    type: Test::FailDelete
    properties:
      fail_attempts: 1'

name="$PREFIX-ok"; t0="$(os_now)"
id="$(create "$name" "$TPL_OK")"
echo "== $name ($id): RandomString + TestResource"
expect "create" "$(wait_stack "$name" "$id")" CREATE_COMPLETE
echo "  create took $(os_elapsed "$t0")s; outputs: $(api GET "/stacks/$name/$id" | cut -d' ' -f2- | jq -c '[.stack.outputs[] | {(.output_key): .output_value}] | add')"
expect "DELETE request" "$(delete "$name" "$id")" 204
expect "delete" "$(wait_stack "$name" "$id")" DELETE_COMPLETE

name="$PREFIX-faildelete"
id="$(create "$name" "$TPL_FAIL_DELETE")"
echo "== $name ($id): Test::FailDelete fail_attempts=1"
expect "create" "$(wait_stack "$name" "$id")" CREATE_COMPLETE
expect "1st DELETE request" "$(delete "$name" "$id")" 204
expect "1st delete" "$(wait_stack "$name" "$id")" DELETE_FAILED
expect "2nd DELETE request" "$(delete "$name" "$id")" 204
expect "2nd delete" "$(wait_stack "$name" "$id")" DELETE_COMPLETE
echo "== all checks passed"
