#!/usr/bin/env bash
# Installs the system tools the tests use, when they are missing: Debian's prometheus (which brings
# promtool). Idempotent and quick when everything is there. Fails with the reason rather than letting
# a test skip.
set -euo pipefail

missing=()
for tool in prometheus promtool; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-test-tools: missing ${missing[*]}; installing Debian package prometheus" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "install-test-tools: need root or sudo to run apt-get install prometheus" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
for tool in prometheus promtool; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-test-tools: $tool still missing after install" >&2; exit 1; }
done
