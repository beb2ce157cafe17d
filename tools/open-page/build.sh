#!/usr/bin/env bash
# tools/open-page/build.sh — builds templates/open-archive.html from tools/open-page/src/
# with the pinned npm packages (package-lock.json).
#
#   tools/open-page/build.sh           rebuild and write templates/open-archive.html
#   tools/open-page/build.sh --check   fail if the committed file is not what the build makes
#
# Needs node and npm; installs the locked packages (npm ci) when node_modules is missing or
# older than package-lock.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null || { echo "build.sh: node not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }
STAMP="$HERE/node_modules/.package-lock.json"
if [[ ! -f "$STAMP" || "$HERE/package-lock.json" -nt "$STAMP" ]]; then
    command -v npm >/dev/null || { echo "build.sh: npm not found" >&2; exit 1; }
    npm ci --prefix "$HERE" --no-audit --no-fund --loglevel=error >&2
fi
exec node "$HERE/build.mjs" "$@"
