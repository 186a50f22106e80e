#!/bin/sh
# deploy/nginx.conf names Docker's embedded DNS server (127.0.0.11). Podman's DNS server
# (aardvark-dns) is at the network's gateway instead, the first nameserver in
# /etc/resolv.conf: the configuration is copied with that address.
set -eu
conf=/etc/nginx/nginx.conf
ns=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
if [ "$1" = nginx ] && [ -n "$ns" ] && [ "$ns" != 127.0.0.11 ] && grep -q 'resolver 127\.0\.0\.11' "$conf"; then
    sed "s/resolver 127\.0\.0\.11/resolver $ns/" "$conf" > /run/nginx.conf
    shift
    exec nginx -c /run/nginx.conf "$@"
fi
exec "$@"
