#!/usr/bin/env bash
# Alternates `npm run bench -- train` between this tree and another build (a git worktree of an
# older commit, with node_modules linked and `npm run build:wasm` run there), ROUNDS times, so that
# both see the same machine (a shared machine's speed drifts by up to 2x). Prints each run and the
# medians of the per-run step medians, their ratio (this tree / other) and the peak RSS of each.
#   scripts/bench-alternate.sh OTHER_DIR [ROUNDS=5] [bench train options, e.g. --threads 2 --steps 3 --save-memory]
# Make another tree:  git worktree add /tmp/pf-base 1c5b936 && ln -s "$PWD/node_modules" /tmp/pf-base/
#                     (cd /tmp/pf-base && npm run build:wasm)
set -euo pipefail
here="${HERE:-$(cd "$(dirname "$0")/.." && pwd)}" # HERE=DIR compares two other trees
other="$(cd "${1:?usage: scripts/bench-alternate.sh OTHER_DIR [ROUNDS] [bench options]}" && pwd)"
rounds="${2:-5}"
shift $(($# >= 2 ? 2 : 1))
opts=("$@")
[ ${#opts[@]} -eq 0 ] && opts=(--threads 2 --steps 3)
out="$(mktemp -d)"
for r in $(seq 1 "$rounds"); do
  for side in here other; do
    dir="$here"; [ "$side" = other ] && dir="$other"
    (cd "$dir" && node --import tsx bench/main.ts train "${opts[@]}" --json) | tail -1 >>"$out/$side.jsonl"
    node -e 'const r=JSON.parse(process.argv[1]);console.log(`round ${process.argv[2]} ${process.argv[3].padEnd(5)} median ${r.step_seconds_median.toFixed(3)} s (${r.step_seconds.map((t)=>t.toFixed(2)).join(", ")}) peak RSS ${r.peak_rss_mb} MB`)' \
      "$(tail -1 "$out/$side.jsonl")" "$r" "$side"
  done
done
node -e '
const fs = require("fs");
const read = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const med = (a) => { const s = [...a].sort((x, y) => x - y), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const h = read(process.argv[1]), o = read(process.argv[2]);
const mh = med(h.map((r) => r.step_seconds_median)), mo = med(o.map((r) => r.step_seconds_median));
const ratios = h.map((r, i) => r.step_seconds_median / o[i].step_seconds_median);
console.log(`this tree  ${process.argv[3]}: median ${mh.toFixed(3)} s, peak RSS ${Math.max(...h.map((r) => r.peak_rss_mb))} MB`);
console.log(`other tree ${process.argv[4]}: median ${mo.toFixed(3)} s, peak RSS ${Math.max(...o.map((r) => r.peak_rss_mb))} MB`);
console.log(`ratio of medians ${(mh / mo).toFixed(3)}; round by round ${ratios.map((r) => r.toFixed(2)).join(", ")} (median ${med(ratios).toFixed(3)})`);
' "$out/here.jsonl" "$out/other.jsonl" "$here" "$other"
rm -rf "$out"
