#!/usr/bin/env bash
# Throughput of a jax mount against a native directory and gocryptfs on the
# same disk, in one run, alternating the order over ROUNDS rounds; prints
# medians and ratios to gocryptfs. Needs root (drops caches) and gocryptfs.
#   usage: [VERBOSE=1] bench/fuse.sh [SIZE_MIB=1024] [FILES=5000] [ROUNDS=3]
# VERBOSE=1 also prints every round's time.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}; files=${2:-5000}; rounds=${3:-3}
command -v gocryptfs >/dev/null || { echo "needs gocryptfs (apt-get install gocryptfs)" >&2; exit 1; }
go build -o bin/jax ./cmd/jax
work=$(mktemp -d "$PWD/bench/out.XXXXXX")
export JAX_HOME=$work/jax JAX_NETWORK=loopback # never the LAN: no mDNS, relays or port mapping
cleanup() {
  fusermount3 -u "$work/gcf" 2>/dev/null || true
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/native" "$work/gcf.cipher" "$work/gcf"
echo pw > "$work/pw"
gocryptfs -q -init -passfile "$work/pw" "$work/gcf.cipher"
gocryptfs -q -passfile "$work/pw" "$work/gcf.cipher" "$work/gcf"
bin/jax init --name bench >/dev/null
bin/jax bucket create bench >/dev/null
bin/jax daemon 2>"$work/daemon.log" & daemon=$!
for _ in $(seq 100); do bin/jax status >/dev/null 2>&1 && break; sleep 0.1; done
bin/jax mount add bench "$work/jaxmnt" >/dev/null

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
head -c $((size << 20)) /dev/urandom > "$work/src"

declare -A R
run() { # name dir
  local d=$2
  # write, then fsync on its own: the virtual disk's flush makes the sum noisy
  local w f
  drop; w=$(t dd if="$work/src" of="$d/big" bs=1M status=none); f=$(t sync "$d/big")
  R[$1,write]+="$w "; R[$1,fsync]+="$f "; R[$1,wr+fsync]+="$(echo "$w + $f" | bc) "
  drop; R[$1,read]+="$(t dd if="$d/big" of=/dev/null bs=1M status=none) "
  rm -f "$d/big"
  mkdir -p "$d/many"
  R[$1,create]+="$(t sh -c "cd '$d/many' && for i in \$(seq $files); do echo \$i > f\$i; done") "
  drop; R[$1,lsR]+="$(t ls -lR "$d/many") "
  drop; R[$1,stat]+="$(t sh -c "find '$d/many' -type f -exec stat -c %s {} +") "
  R[$1,rm]+="$(t rm -rf "$d/many") "
}
for r in $(seq "$rounds"); do
  order="native jax gcf"; [ $((r % 2)) -eq 0 ] && order="gcf jax native"
  for n in $order; do
    case $n in native) run native "$work/native";; jax) run jax "$work/jaxmnt";; gcf) run gcf "$work/gcf";; esac
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "%-9s %10s %10s %10s %8s\n" step native gocryptfs jax "jax/gcf"
for s in write fsync wr+fsync read create lsR stat rm; do
  n=$(echo "${R[native,$s]}" | med); g=$(echo "${R[gcf,$s]}" | med); j=$(echo "${R[jax,$s]}" | med)
  # for times, the speed ratio is gocryptfs time / jax time (>1 is faster)
  printf "%-9s %9.2fs %9.2fs %9.2fs %7.2fx\n" "$s" "$n" "$g" "$j" "$(echo "$g / $j" | bc -l)"
done
if [ -n "${VERBOSE:-}" ]; then
  for k in "${!R[@]}"; do echo "$k: ${R[$k]}"; done | sort
fi
echo "(${size} MiB sequential read/write with caches dropped; $files small files; median of $rounds rounds)"
