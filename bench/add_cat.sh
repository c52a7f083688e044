#!/usr/bin/env bash
# Throughput and peak memory of `jax bucket add` and `jax bucket cat` of one
# large file, against cp of the same file on the same disk, in one run.
# Also: bytes stored when one byte in the middle changes.
#   usage: bench/add_cat.sh [SIZE_MIB=1024] [ROUNDS=3]
# Runs as root drop the page cache before each timed step (cold reads).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
rounds=${2:-3}
jax=${JAX_BIN:-bin/jax}
[ -x "$jax" ] || go build -o bin/jax ./cmd/jax
work=$(mktemp -d "${BENCH_DIR:-$PWD/bench/out}.XXXXXX" 2>/dev/null || { mkdir -p bench/out; mktemp -d bench/out/run.XXXXXX; })
trap 'rm -rf "$work"' EXIT
export JAX_HOME=$work/home JAX_NETWORK=loopback # never the LAN: no mDNS, relays or port mapping
src=$work/src.bin

drop() { sync; if [ "$(id -u)" -eq 0 ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
# timed CMD...: prints "seconds maxrss_kib"
timed() { /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null; cat "$work/t"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "generating ${size} MiB of random data..."
head -c $((size << 20)) /dev/urandom > "$src"
"$jax" init --name bench >/dev/null
: > "$work/cp"; : > "$work/cpsync"; : > "$work/add"; : > "$work/cat"; : > "$work/addrss"; : > "$work/catrss"
for r in $(seq 1 "$rounds"); do
  "$jax" bucket create "b$r" >/dev/null
  drop; timed cp "$src" "$work/copy" | awk '{print $1}' >> "$work/cp"
  rm -f "$work/copy"
  drop; timed sh -c "cp '$src' '$work/copy' && sync" | awk '{print $1}' >> "$work/cpsync"
  rm -f "$work/copy"
  drop; read -r s m < <(timed "$jax" bucket add "b$r" "$src" /big.bin)
  echo "$s" >> "$work/add"; echo "$m" >> "$work/addrss"
  drop; /usr/bin/time -f "%e %M" -o "$work/t" "$jax" bucket cat "b$r" /big.bin > "$work/out"
  read -r s m < "$work/t"; echo "$s" >> "$work/cat"; echo "$m" >> "$work/catrss"
  cmp -s "$src" "$work/out" || { echo "cat returned different bytes" >&2; exit 1; }
  rm -f "$work/out"
done

cp_t=$(median < "$work/cp"); cps_t=$(median < "$work/cpsync")
add_t=$(median < "$work/add"); cat_t=$(median < "$work/cat")
add_rss=$(sort -n "$work/addrss" | tail -1); cat_rss=$(sort -n "$work/catrss" | tail -1)
mibs() { awk -v s="$size" -v t="$1" 'BEGIN {printf "%.0f", s/t}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b/a}'; }
echo
echo "== ${size} MiB file, median of $rounds rounds, caches dropped before each step =="
printf "cp            %6ss  %5s MiB/s\n" "$cp_t" "$(mibs "$cp_t")"
printf "cp + sync     %6ss  %5s MiB/s\n" "$cps_t" "$(mibs "$cps_t")"
printf "jax add       %6ss  %5s MiB/s  = %sx cp, %sx cp+sync (target >= 0.5; add is durable)  peak RSS %d MiB (target <= 64)\n" \
  "$add_t" "$(mibs "$add_t")" "$(ratio "$add_t" "$cp_t")" "$(ratio "$add_t" "$cps_t")" $((add_rss / 1024))
printf "jax cat       %6ss  %5s MiB/s  = %sx cp (target >= 0.5)  peak RSS %d MiB (target <= 64)\n" \
  "$cat_t" "$(mibs "$cat_t")" "$(ratio "$cat_t" "$cp_t")" $((cat_rss / 1024))

blobs() { du -sb "$JAX_HOME/data/blobs" | awk '{print $1}'; }
before=$(blobs)
printf '\x5a' | dd of="$src" bs=1 seek=$(((size << 20) / 2)) conv=notrunc status=none
"$jax" bucket add b1 "$src" /big.bin >/dev/null
after=$(blobs)
echo "one byte changed mid-file, added again: $(( (after - before) / 1024 )) KiB of new blobs (target < 4096 KiB)"
