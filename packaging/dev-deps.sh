#!/usr/bin/env bash
# Installs what building and testing Jax needs on Debian/Ubuntu, skipping
# what is already there. Run as root or with sudo available.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in gcc libc6-dev pkg-config git make ca-certificates fuse3; do
  have "$p" || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing system packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
  echo "Go is not installed. Install Go 1.21 or newer (https://go.dev/doc/install);" >&2
  echo "it fetches the exact toolchain this module asks for by itself." >&2
  exit 1
fi
