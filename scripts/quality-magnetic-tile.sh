#!/usr/bin/env bash
# Quality on real photographs: the magnetic tile data set (../shared/data/magnetic_tile), default
# model at 256x256. Trains in the background-friendly way (checkpoints, --resume), then evaluates
# the untrained flow (its template alone: a multi-scale difference from the mean image) and the
# trained one with the same test set. Not part of the test suite: it takes hours at full size.
#
# usage: scripts/quality-magnetic-tile.sh [OUT_DIR] [EPOCHS] [MAX_IMAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/magnetic_tile}
epochs=${2:-15}
max_images=${3:-0}
data=../shared/data
mkdir -p "$out"
common=(--data "$data" --category magnetic_tile --augment texture --threads "${THREADS:-2}")
subset=()
[ "$max_images" != 0 ] && subset=(--max-images "$max_images")

if [ ! -f "$out/untrained.json" ]; then
  node bin/pyramidflow.js train "${common[@]}" "${subset[@]}" --epochs 0 --out "$out/untrained.pflow" --json > "$out/untrained-train.log"
  node bin/pyramidflow.js test --model "$out/untrained.pflow" --data "$data" --category magnetic_tile --json > "$out/untrained.json"
fi
resume=()
[ -f "$out/trained.pflow" ] && resume=(--resume)
node bin/pyramidflow.js train "${common[@]}" "${subset[@]}" --epochs "$epochs" --checkpoint-every 25 \
  --out "$out/trained.pflow" "${resume[@]}" --json >> "$out/train.log"
node bin/pyramidflow.js test --model "$out/trained.pflow" --data "$data" --category magnetic_tile \
  --report "$out/report" --json > "$out/trained.json"
node -e '
const [u, t] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
const row = (name, m) => console.log(name.padEnd(12), ["pixel_auroc", "aupro", "image_auroc"].map((k) => (100 * m[k]).toFixed(1).padStart(8)).join(""));
console.log("".padEnd(12), "   pixel   AUPRO   image   (untrained -> trained)");
row("untrained", u); row("trained", t);
for (const type of Object.keys(t.per_type ?? {})) { row(" " + type, u.per_type[type]); row(" " + type, t.per_type[type]); }
' "$out/untrained.json" "$out/trained.json" | tee "$out/summary.txt"
