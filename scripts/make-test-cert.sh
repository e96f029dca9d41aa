#!/usr/bin/env bash
# Make a throwaway self-signed certificate for local TLS tests:
#   scripts/make-test-cert.sh DIR  ->  DIR/cert.pem DIR/key.pem
# CN=localhost, subjectAltName IP:127.0.0.1 and DNS:localhost, valid 2 days.
# Clients trust it by using DIR/cert.pem as their CA file. Needs the openssl
# command-line tool (Debian package openssl).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyCertSign" \
    -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 644 "$dir/cert.pem"
