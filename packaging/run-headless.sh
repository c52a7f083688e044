#!/usr/bin/env bash
# `make run` on a machine with no display: the headless daemon with the
# tray app's first-run defaults (a first bucket mounted at ~/Jax/Personal).
set -euo pipefail
jax=${JAX:-bin/jax}
bucket=Personal
echo "No display (neither DISPLAY nor WAYLAND_DISPLAY is set): starting the headless 'jax daemon' instead of jax-tray."
if $jax status >/dev/null 2>&1; then
  echo "A jax daemon already runs for this data dir:"
  exec $jax status
fi
fresh=""
if ! $jax bucket list >/dev/null 2>&1; then
  $jax init
  $jax bucket create "$bucket"
  fresh=1
fi
$jax daemon &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM
for _ in $(seq 1 100); do
  $jax status >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { wait $daemon; exit 1; }
  sleep 0.1
done
if [ -n "$fresh" ]; then
  $jax mount add "$bucket" "$HOME/Jax/$bucket" --auto-mount
fi
$jax status
echo "Running; Ctrl-C stops the daemon and unmounts cleanly."
wait $daemon
