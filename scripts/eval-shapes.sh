#!/usr/bin/env bash
# Evaluates a shapes-world model (issue 13) with `ullava eval` on held-out test scenes: seeds of the test
# split (from 1.1e9), which no training stage ever draws. One manifest per task (res, rec, salient, vqa),
# teacher-forced (the official protocol); VQA also generative (the model answers by itself).
# Usage: bash scripts/eval-shapes.sh MODEL_DIR OUT [N]   (N records per task, default 150)
# Writes OUT/<task>/report.json, samples.csv, worst/, and OUT/summary.json (every metric with its interval
# and count). The test seeds can be moved (SEED0=...) to evaluate on scenes nobody has seen.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: eval-shapes.sh MODEL_DIR OUT [N]}
OUT=${2:?usage: eval-shapes.sh MODEL_DIR OUT [N]}
N=${3:-150}
SEED0=${SEED0:-1100000000}
U="node dist/ullava/cli/main.js"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$OUT"
i=0
for task in res rec salient vqa; do
  # Disjoint test seeds per task: SEED0 + i * N ...
  [ -f "$OUT/data-$task/manifest.jsonl" ] || $U data shapes --split test --seed $((SEED0 + i * N)) --n "$N" --tasks "$task" --out "$OUT/data-$task" --quiet
  $U eval --model "$MODEL" --data "$OUT/data-$task/manifest.jsonl" --task "$task" --batch 8 --worst 12 --out "$OUT/$task" >/dev/null
  i=$((i + 1))
done
$U eval --model "$MODEL" --data "$OUT/data-vqa/manifest.jsonl" --task vqa --generate --out "$OUT/vqa-generate" >/dev/null
node -e '
const fs = require("fs"), out = process.argv[1];
const summary = {};
for (const t of ["res", "rec", "salient", "vqa", "vqa-generate"]) {
  const r = JSON.parse(fs.readFileSync(`${out}/${t}/report.json`, "utf8"));
  summary[t] = { protocol: r.protocol, count: r.count, metrics: r.metrics };
}
fs.writeFileSync(`${out}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
for (const [t, s] of Object.entries(summary)) console.log(t.padEnd(13), Object.entries(s.metrics).map(([k, m]) => `${k} ${m.value.toFixed(3)}`).join(", "), `(${s.count.items} items)`);
' "$OUT"
