#!/usr/bin/env bash
# All tests: unit tests, then the integration suite against a throwaway Docker engine that the
# suite starts itself (its own socket and data root; the host's Docker is never touched).
set -euo pipefail
cd "$(dirname "$0")/.."

# docker.io + busybox-static: the throwaway engine and its image; prometheus: promtool, which lints
# /metrics and the shipped alerts; chromium: the admin pages are tested in a real headless browser;
# docker-registry (distribution 2.8): image-trust tests push and sign images in loopback registries
# of their own, since no outside registry is reachable and the test must control what it serves;
# haproxy: the fleet test puts two AuthZ replicas behind one TLS-passthrough balancer, as the README
# recommends for a central policy server, and kills one mid-run to prove dockerd never sees it.
need_packages=()
command -v dockerd >/dev/null 2>&1 || need_packages+=(docker.io)
[ -x /bin/busybox ] || need_packages+=(busybox-static)
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
command -v docker-registry >/dev/null 2>&1 || need_packages+=(docker-registry)
command -v haproxy >/dev/null 2>&1 || need_packages+=(haproxy)
if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing ${need_packages[*]}; run as root (or: sudo apt-get install -y ${need_packages[*]})" >&2
    exit 1
  fi
  echo "test.sh: installing ${need_packages[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci

npm run build --silent
npm run lint --silent

status=0
npx mocha 'dist/test/unit/**/*.test.js' || status=1
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: the integration suite starts its own dockerd and needs root" >&2
  exit 1
fi
npx mocha --timeout 60000 --require dist/test/integration/setup.js 'dist/test/integration/**/*.test.js' || status=1
exit $status
