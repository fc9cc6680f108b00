#!/usr/bin/env bash
# Prints the path of a promtool (Prometheus' own linter, used by test/metrics-lint.test.ts):
# the one on PATH, else one taken out of Debian's `prometheus` package into the CI cache.
# Only the promtool binary is extracted: installing the package would also start a server.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
CACHE="${HOOKRAIL_CI_CACHE:-$HOME/.cache/hookrail-ci}"
BIN="$CACHE/promtool/promtool"
if [ ! -x "$BIN" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # apt's downloader runs as _apt, which must be able to write there.
  chmod 755 "$tmp"
  (cd "$tmp" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }; }) \
    || { echo "promtool: could not download Debian's prometheus package" >&2; exit 1; }
  mkdir -p "$CACHE/promtool"
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -xO ./usr/bin/promtool > "$BIN.part"
  chmod +x "$BIN.part" && mv "$BIN.part" "$BIN"
fi
echo "$BIN"
