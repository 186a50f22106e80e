#!/bin/sh
# Builds every image compose.yaml needs from Debian packages and PyPI alone, for machines that
# reach no container registry (docs/deploy.md, "Running the Compose stack without a registry").
#
#   deploy/build-local-images.sh          # as root, with podman and debootstrap installed
#
# Images: localhost/debian:bookworm (debootstrap), localhost/originlens-{base,python,postgres,
# redis,nginx,s3} (deploy/local-images/) and originlens:latest (the Dockerfile, its FROM
# replaced by localhost/originlens-python:3.11). compose.podman.yaml points the services at them.
#
# Settings (environment):
#   DEBIAN_MIRROR   the mirror debootstrap uses (default http://deb.debian.org/debian)
#   EXTRA_CA_DIR    a folder of *.crt certificate authorities to trust inside the images (for an
#                   intercepting HTTPS proxy in front of PyPI); none by default
#   REBUILD_ROOTFS  1: debootstrap again even if localhost/debian:bookworm exists
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "${REBUILD_ROOTFS:-0}" = 1 ] || ! podman image exists localhost/debian:bookworm; then
    echo "== debootstrap bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror"
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    tar -C "$work/rootfs" -c . | podman import - localhost/debian:bookworm
    rm -rf "$work/rootfs"
fi

build() {   # build NAME TAG: deploy/local-images/NAME as TAG
    echo "== $2"
    rm -rf "$work/ctx" && cp -r "$here/local-images/$1" "$work/ctx"
    podman build --pull=never -t "$2" "$work/ctx"
}

# The base image, with the extra certificate authorities if any (COPY ca/ needs the folder).
cp -r "$here/local-images/base" "$work/base"
mkdir -p "$work/base/ca"
if [ -n "${EXTRA_CA_DIR:-}" ]; then
    cp "$EXTRA_CA_DIR"/*.crt "$work/base/ca/"
fi
echo "== localhost/originlens-base:bookworm"
podman build --pull=never -t localhost/originlens-base:bookworm "$work/base"

build python localhost/originlens-python:3.11
build postgres localhost/originlens-postgres:15
build redis localhost/originlens-redis:7
build nginx localhost/originlens-nginx:1.22
build s3 localhost/originlens-s3:moto

echo "== originlens:latest"
podman build --pull=never --from localhost/originlens-python:3.11 -t localhost/originlens:latest "$repo"
podman images --filter reference='localhost/*'
