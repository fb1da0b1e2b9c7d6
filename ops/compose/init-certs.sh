#!/bin/sh
# The compose federation's CA and every certificate, made once with `koepel certs` (as a
# federation's operator would on the machine that keeps the CA). Does nothing that exists.
# Usage: init-certs.sh DIRECTORY NODE_ID...
#   DIRECTORY/ca/               ca.crt and ca.key (0600): the federation CA
#   DIRECTORY/issued/aggregator aggregator.crt/.key: koepel://aggregator/federation, 127.0.0.1
#   DIRECTORY/issued/operator   operator.crt/.key: koepel://operator/compose-operator
#   DIRECTORY/issued/NODE_ID    node.crt/.key: koepel://node/NODE_ID, 127.0.0.1
#   DIRECTORY/issued/NODE_ID-probe  auditor.crt/.key: koepel://auditor/probe-NODE_ID, the
#       client certificate of the node's health check (a node's own certificate may only serve)
# Each issued folder also holds ca.crt. The other containers copy only their own folder.
set -eu
dir=$1
shift

issue() {  # ROLE NAME FOLDER [--ip/--dns ...]
    role=$1 name=$2 out=$dir/issued/$3
    shift 3
    if [ -f "$out/$role.crt" ]; then
        echo "koepel://$role/$name already issued"
    else
        koepel certs issue --ca "$dir/ca" --role "$role" --name "$name" --out "$out" "$@"
    fi
}

if [ -f "$dir/ca/ca.crt" ]; then
    echo "CA already in $dir/ca"
else
    koepel certs init-ca "$dir/ca" --name "koepel compose federation CA"
fi
issue aggregator federation aggregator --ip 127.0.0.1 --dns localhost
issue operator compose-operator operator
for node_id in "$@"; do
    issue node "$node_id" "$node_id" --ip 127.0.0.1 --dns localhost
    issue auditor "probe-$node_id" "$node_id-probe"
done
