#!/usr/bin/env bash
# Protocol measurements (issue 7 items 1, 3-5): shipped demo models + gap-fillers on the demo (paper protocol),
# and quickly trained networks (--quick) + gap-fillers on the shared real cube under the real-cloud protocol,
# random and blocked splits. Writes JSON under ${OUT:-/tmp/protocol_measurements}. Run with nice -n 19.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/protocol_measurements}
mkdir -p "$OUT"
PY=.venv/bin/python
REAL=(--data ../shared/data/worldcereal_belgium_2021/worldcereal_preprocessed_inputs.nc --nodata 65535 --sigma0-log-dn 20 -83)

$PY -m mcnnseq evaluate --json "$OUT/demo_50.json" | tee "$OUT/demo_50.txt"
for split in random blocked; do
  for model in rnn cnn mcnn_seq; do
    $PY -m mcnnseq train "${REAL[@]}" --split "$split" --model "$model" --quick -o "$OUT/real_${split}_${model}.pt" \
      | tail -n 2
  done
  $PY -m mcnnseq evaluate "${REAL[@]}" --split "$split" --models "$OUT/real_${split}_rnn.pt" \
    "$OUT/real_${split}_cnn.pt" "$OUT/real_${split}_mcnn_seq.pt" linear whittaker --json "$OUT/real_${split}.json" \
    | tee "$OUT/real_${split}.txt"
done
