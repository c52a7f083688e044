#!/usr/bin/env bash
# Installs what building and testing Jax needs on Debian/Ubuntu, skipping
# what is already there. Run as root or with sudo available.
set -euo pipefail

# Build: a C compiler for SQLite; FUSE for mounts; OpenGL and X11 headers
# for the tray app (Fyne's GLFW driver).
pkgs=(gcc libc6-dev pkg-config git make ca-certificates fuse3
  libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev)
# Tests of the tray app: a virtual X server with software OpenGL, and a
# private D-Bus session bus the tests start themselves (no dbus-x11: nothing
# may launch a bus behind their back).
pkgs+=(xvfb xauth libgl1-mesa-dri dbus)
# Packaging checks: desktop-file-validate on the menu and autostart entries.
pkgs+=(desktop-file-utils)

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in "${pkgs[@]}"; do
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
