#!/usr/bin/env bash
# CI helper for machines without a registry: install and start a Docker engine, and build a local base image
# (Debian bookworm + python3 + the host's CA bundle, so pip inside `docker build` can reach the package index).
# Prints the base image's name on stdout; the Dockerfile itself stays the standard one users build.
set -euo pipefail
BASE=${ARXIV_EMBED_BASE_IMAGE:-arxiv-embed-base:bookworm}
log() { echo "docker-base: $*" >&2; }

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
  log "building $BASE with debootstrap"
  root=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$BASE" >&2
  rm -rf "$root"
fi
echo "$BASE"
