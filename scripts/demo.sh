#!/usr/bin/env bash
# The planning documents' demo, with curl against a running server:
#   create a dataset, upload its OHLCV and indicator frames, save a run asynchronously and poll the job,
#   then load the run and its predictions.
# Usage: scripts/demo.sh [BASE_URL]   (default http://127.0.0.1:8000; STAGE1_TOKEN is sent when set)
set -euo pipefail
BASE="${1:-${STAGE1_URL:-http://127.0.0.1:8000}}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
AUTH=()
[ -n "${STAGE1_TOKEN:-}" ] && AUTH=(-H "X-Stage1-Token: $STAGE1_TOKEN")
SLUG="demo_$(date +%s)"

say() { printf '\n== %s\n' "$*"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
call() { curl -sS --fail-with-body "${AUTH[@]}" "$@"; }

python3 - "$WORK" <<'PY'
import math, sys
work, start = sys.argv[1], 1704067200
with open(f"{work}/ohlcv.csv", "w") as f:
    f.write("timestamp,open,high,low,close,volume\n")
    for i in range(500):
        c = 42000 + 800 * math.sin(i / 25)
        f.write(f"{start + i * 3600},{c - 20:.2f},{c + 60:.2f},{c - 70:.2f},{c:.2f},{5 + i % 9}\n")
with open(f"{work}/indicators.csv", "w") as f:
    f.write("timestamp,rsi_14,macd\n")
    for i in range(500):
        f.write(f"{start + i * 3600},{50 + 25 * math.sin(i / 9):.3f},{math.cos(i / 13):.4f}\n")
with open(f"{work}/predictions.csv", "w") as f:
    f.write("timestamp,bar_index,fold_number,prediction,target,threshold_long,threshold_short\n")
    for i in range(250, 500):
        f.write(f"{start + i * 3600},{i},{1 if i < 375 else 2},{0.5 + 0.4 * math.sin(i / 5):.4f},{i % 2},0.6,0.4\n")
PY

say "health"
call "$BASE/api/health"; echo

say "create dataset $SLUG"
call -H 'Content-Type: application/json' \
  -d "{\"dataset_slug\":\"$SLUG\",\"symbol\":\"BTC\",\"granularity\":\"1h\",\"source\":\"demo\"}" \
  "$BASE/api/datasets" | tee "$WORK/dataset.json"; echo
DATASET_ID=$(field "['dataset_id']" <"$WORK/dataset.json")

say "upload OHLCV and indicator frames"
call -F "ohlcv=@$WORK/ohlcv.csv;type=text/csv" -F "indicators=@$WORK/indicators.csv;type=text/csv" \
  "$BASE/api/datasets/$DATASET_ID/export"; echo

say "first three daily bars"
call "$BASE/api/datasets/$SLUG/ohlcv?sample_by=1d&limit=3&format=csv&ts_unit=iso"

say "save a run asynchronously"
RUN_JSON="{\"dataset_id\":\"$DATASET_ID\",\"target_column\":\"target\",\"feature_columns\":[\"rsi_14\",\"macd\"],\
\"hyperparameters\":{\"max_depth\":4,\"eta\":0.1},\"summary_metrics\":{\"auc\":0.57},\
\"folds\":[{\"fold_number\":1,\"test_start\":250,\"test_end\":374,\"thresholds\":{\"long\":0.6},\"metrics\":{\"auc\":0.56}},\
{\"fold_number\":2,\"test_start\":375,\"test_end\":499,\"thresholds\":{\"long\":0.6},\"metrics\":{\"auc\":0.58}}]}"
call -F "run=$RUN_JSON;type=application/json" -F "predictions=@$WORK/predictions.csv;type=text/csv" \
  "$BASE/api/runs?async=true" | tee "$WORK/job.json"; echo
POLL=$(field "['poll_url']" <"$WORK/job.json")

say "poll $POLL"
for _ in $(seq 1 100); do
  call "$BASE$POLL" >"$WORK/status.json"
  STATUS=$(field "['status']" <"$WORK/status.json")
  echo "status: $STATUS"
  case "$STATUS" in COMPLETED|FAILED|CANCELLED) break ;; esac
  sleep 0.2
done
cat "$WORK/status.json"; echo
[ "$STATUS" = COMPLETED ] || { echo "the run job did not complete" >&2; exit 1; }
RUN_ID=$(field "['result']['run_id']" <"$WORK/status.json")

say "load the run"
call "$BASE/api/runs/$RUN_ID" | python3 -c "
import json, sys
run = json.load(sys.stdin)
print({k: run[k] for k in ('run_id', 'dataset_slug', 'prediction_measurement', 'status', 'fold_count')})
print('folds:', [(f['fold_number'], f['thresholds'], f['metrics']) for f in run['folds']])"

say "first predictions"
call "$BASE/api/runs/$RUN_ID/predictions?format=csv&limit=3"

say "done: dataset $SLUG, run $RUN_ID"
