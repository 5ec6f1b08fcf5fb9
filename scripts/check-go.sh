#!/usr/bin/env bash
# Fails with a clear message when Go is missing or older than go.mod needs.
# Go is the one thing the project cannot install for itself.
set -euo pipefail
need=1.26
if ! command -v go >/dev/null 2>&1; then
  echo "Go $need or newer is needed and was not found on PATH." >&2
  echo "Install it (e.g. to /usr/local/go) and put its bin folder on PATH." >&2
  exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
lowest=$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)
if [ "$lowest" != "$need" ]; then
  echo "Go $need or newer is needed; found $have ($(command -v go))." >&2
  exit 1
fi
