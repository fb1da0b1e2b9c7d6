#!/bin/sh
# Copy certificate folders made by init-certs.sh into a service's own volume, once; keys keep
# mode 0600. Usage: install-tls.sh FROM TO [FROM TO]...
set -eu
while [ $# -ge 2 ]; do
    from=$1 to=$2
    shift 2
    if ls "$to"/*.crt >/dev/null 2>&1; then
        echo "$to already holds certificates"
        continue
    fi
    mkdir -p "$to"
    chmod 0700 "$to"
    cp -p "$from"/*.crt "$from"/*.key "$to"/
    echo "installed $(ls "$to" | tr '\n' ' ')in $to"
done
