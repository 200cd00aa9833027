#!/usr/bin/env bash
# CI helper for machines without a registry: install and start a Docker engine, and build a local base image
# (Debian bookworm + python3 + the host's CA bundle, so pip inside `docker build` can reach the package index).
# Prints the base image's name on stdout; the Dockerfile itself stays the standard one users build.
set -euo pipefail
BASE=${ARXIV_EMBED_BASE_IMAGE:-arxiv-embed-base:bookworm}
SUITE=bookworm
log() { echo "docker-base: $*" >&2; }

# The host's own Debian archive for $SUITE (deb822 .sources or one-line .list entries), so that no mirror's name
# is written here; DEBIAN_MIRROR overrides it.
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      /^[[:space:]]*$/ { if (uri && hit) { print uri; exit } uri = ""; hit = 0 }
      END { if (uri && hit) print uri }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/\[[^]]*\]//' | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }' || true
}

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  log "installing docker.io and debootstrap"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >&2
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  (setsid dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/dockerd.log"; exit 1; }
fi
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  mirror=${DEBIAN_MIRROR:-$(host_mirror | awk 'NR == 1')}  # awk reads it all: no SIGPIPE under pipefail
  [ -n "$mirror" ] || { log "no Debian $SUITE archive in this host's apt sources: set DEBIAN_MIRROR"; exit 1; }
  log "building $BASE with debootstrap from the host's archive"
  root=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$root" "$mirror" >&2
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$BASE" >&2
  rm -rf "$root"
fi
echo "$BASE"
