#!/usr/bin/env bash
# Installs docker-enforcer as a systemd service:
#   PREFIX (default /opt/docker-enforcer)   the build and its production dependencies
#   /etc/docker-enforcer/{rules,request_rules,triggers}/   rule files and rules/packs.yml (existing files are kept)
#   /etc/docker-enforcer/environment.conf   every option, commented (kept if present)
#   /etc/systemd/system/docker_enforcer.service and docker.service.d/docker-enforcer.conf
# PREFIX, CONF_DIR and UNIT_DIR move those places; DESTDIR stages everything under another root
# (packaging). Run from a clone, as root.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-/opt/docker-enforcer}"
CONF_DIR="${CONF_DIR:-/etc/docker-enforcer}"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"
DESTDIR="${DESTDIR:-}"
ETC="$DESTDIR$CONF_DIR"
UNITS="$DESTDIR$UNIT_DIR"
NODE="$(command -v node)"

[ -d node_modules ] || npm ci
npm run build --silent

echo "install: $DESTDIR$PREFIX"
rm -rf "$DESTDIR$PREFIX"
mkdir -p "$DESTDIR$PREFIX"
cp -r dist package.json package-lock.json README.md "$DESTDIR$PREFIX/"
(cd "$DESTDIR$PREFIX" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)

for dir in rules request_rules triggers; do
  mkdir -p "$ETC/$dir"
  # Rule files and the packs file (rules/packs.yml: the CIS pack in WARN).
  for file in "$dir"/*.ts "$dir"/*.yml; do
    [ -e "$file" ] || continue
    [ -e "$ETC/$file" ] || cp "$file" "$ETC/$file"
  done
done
# Editors resolve `import type … from 'docker-enforcer'` in /etc/docker-enforcer through this.
cat > "$ETC/tsconfig.json" <<JSON
{ "compilerOptions": { "strict": true, "noEmit": true, "target": "es2022", "module": "commonjs",
  "paths": { "docker-enforcer": ["$PREFIX/dist/src/index.d.ts"] } },
  "include": ["rules/*.ts", "request_rules/*.ts", "triggers/*.ts"] }
JSON
[ -e "$ETC/environment.conf" ] || cp systemd/environment.conf "$ETC/environment.conf"

mkdir -p "$UNITS/docker.service.d"
sed -e "s#/opt/docker-enforcer#$PREFIX#g" -e "s#/etc/docker-enforcer#$CONF_DIR#g" -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" \
  systemd/docker_enforcer.service > "$UNITS/docker_enforcer.service"
cp systemd/docker.service.d/docker-enforcer.conf "$UNITS/docker.service.d/docker-enforcer.conf"

if [ -z "$DESTDIR" ] && [ "$UNIT_DIR" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable docker_enforcer.service
  echo "install: enabled docker_enforcer.service; start it with: systemctl start docker_enforcer"
fi
echo "install: done (edit $CONF_DIR/environment.conf and the rule files, then restart the service)"
