#!/bin/sh
# Accepts SeaweedFS's arguments (compose.yaml: server -dir=/data -s3 -s3.port=8333) and serves
# S3 on the same port; the other arguments have no meaning for moto.
set -eu
port=8333
for arg in "$@"; do
    case "$arg" in -s3.port=*) port=${arg#-s3.port=} ;; esac
done
exec moto_server -H 0.0.0.0 -p "$port"
