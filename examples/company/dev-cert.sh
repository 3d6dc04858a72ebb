#!/usr/bin/env bash
# Makes a throw-away certificate authority and a certificate for one host
# name, for trying the example company on your own machine:
#   ./dev-cert.sh shop.test certs/
# writes certs/ca.pem (give it to Custodian as CUSTODIAN_TEST_CA) and
# certs/cert.pem, certs/key.pem (give them to server.mjs --cert/--key).
# Never trust this CA anywhere else; delete it when you are done.
set -euo pipefail
host=${1:-shop.test}
dir=${2:-certs}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=Example company test CA" -keyout ca-key.pem -out ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=$host" -keyout key.pem -out cert.csr 2>/dev/null
printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$host" > ext.cnf
openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
  -extfile ext.cnf -out cert.pem 2>/dev/null
rm -f cert.csr ext.cnf ca.srl
echo "made $dir/ca.pem, $dir/cert.pem and $dir/key.pem for $host"
