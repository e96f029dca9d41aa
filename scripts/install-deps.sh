#!/usr/bin/env bash
# Install what cryptosup needs to build and test, from Debian 12 packages.
# Installs only what is missing; uses sudo when not run as root.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    liblua5.4-dev lua5.4 lua-busted
    libwebsockets-dev libuv1-dev libcurl4-openssl-dev libpq-dev libcjson-dev
    libssl-dev openssl curl prometheus postgresql
    python3-aiosmtpd prometheus-alertmanager
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
echo "installing: ${missing[*]}"
"${as_root[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
