#!/bin/sh
# Create a demo node on its first start: node.toml, fresh keys (0600) and an encrypted database
# filled with a SYNTHETIC organisation (never real people). Does nothing if the node exists.
# With ISSUED (the issued/ folder of init-certs.sh), also install the node's TLS files in tls/
# (the [tls] paths of node.toml) and its health-check client certificate in probe/.
# Usage: init-node.sh DIRECTORY NODE_ID GRPC_PORT [PEOPLE] [SEED] [ISSUED]
set -eu
dir=$1
node_id=$2
port=$3
people=${4:-150}
seed=${5:-1}
issued=${6:-}

if [ -n "$issued" ]; then
    sh "$(dirname "$0")/install-tls.sh" "$issued/$node_id" "$dir/tls" \
        "$issued/$node_id-probe" "$dir/probe"
fi
if [ -f "$dir/node.toml" ]; then
    echo "node $node_id already set up in $dir"
    exit 0
fi
koepel node init "$dir" --id "$node_id" --organisation "Synthetic $node_id" \
    --querier federation=3 --listen "127.0.0.1:$port"
# The synthetic CSV exports live only until they are imported.
csv=$(mktemp -d)
trap 'rm -rf "$csv"' EXIT
koepel node synth "$csv" --type EI_WAL --people "$people" --seed "$seed" >/dev/null
koepel node import --config "$dir/node.toml" "$csv"/*.csv
