#!/usr/bin/env bash
# Side-by-side speed of this project and the reference PyTorch and Keras implementations of the
# workloads W1-W3 and the cell variants W2-GRU, W2-BiLSTM, W2-BiGRU, W3-GRU (README, "Speed";
# docs/performance.md), run alternately on this machine, with ratios.
#
#   bash bench/reference/make_venv.sh      # once: the Python side's virtualenv, from PyPI
#   bench/compare.sh                       # W1 W2 W3, one round
#   REPS=3 WORKLOADS="W2 W3" bench/compare.sh
#   REPS=2 KERAS=0 WORKLOADS="W2 W2-GRU W2-BiLSTM W2-BiGRU W3-GRU" bench/compare.sh
#
# The reference scripts are bench/reference/torch_bench.py and keras_bench.py (PyTorch 2.15,
# Keras 3.15 on TensorFlow 2.21; bench/reference/README.md says what they measure and how they
# compare with the earlier scripts). Environment:
#   PY         the Python that runs them (default the virtualenv make_venv.sh makes,
#              ${LSTM_BENCH_VENV:-~/.cache/lstm-bench/venv}/bin/python)
#   ANCHORS    the folder of the reference scripts (default bench/reference); a folder holding
#              bench_torch.py and bench_keras.py instead (the older scripts, with the same
#              command line and RESULT lines) works too
#   REPS, WORKLOADS, OUT (where each run's output is kept; default a new temporary folder)
#   KERAS      0 leaves Keras out (the variants always do: keras_bench.py runs W1-W3 only)
# Our side runs `app bench --only W` (training and inference throughput, peak memory) and, for W1,
# the whole `app train` process, both in the dev profile as the README builds them.
# Each round runs, per workload: ours, PyTorch (2 threads, its faster setting here), Keras.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHORS=${ANCHORS:-$ROOT/bench/reference}
PY=${PY:-${LSTM_BENCH_VENV:-$HOME/.cache/lstm-bench/venv}/bin/python}
REPS=${REPS:-1}
KERAS=${KERAS:-1}
WORKLOADS=${WORKLOADS:-"W1 W2 W3"}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

if [ -e "$ANCHORS/torch_bench.py" ]; then
  TORCH_BENCH=$ANCHORS/torch_bench.py KERAS_BENCH=$ANCHORS/keras_bench.py
else
  TORCH_BENCH=$ANCHORS/bench_torch.py KERAS_BENCH=$ANCHORS/bench_keras.py
fi
# keras_bench.py runs the one-layer LSTM workloads only.
with_keras() { [ "$KERAS" != 0 ] && case $1 in W1|W2|W3) true ;; *) false ;; esac; }
for need in "$TORCH_BENCH" "$KERAS_BENCH"; do
  if [ ! -e "$need" ]; then
    echo "error: $need not found; set ANCHORS to the reference scripts' folder (see the top of $0)" >&2
    exit 1
  fi
done
if [ ! -x "$PY" ]; then
  echo "error: no Python at $PY; make it with bash $ROOT/bench/reference/make_venv.sh, or set PY" >&2
  exit 1
fi
cd "$ROOT"
cargo build -q -p app
APP=$ROOT/target/debug/app
echo "results in $OUT" >&2

# record NAME COMMAND...: runs it under /usr/bin/time, keeps stdout and the time report.
record() {
  local name=$1; shift
  echo "[$(date +%T)] $name" >&2
  /usr/bin/time -v -o "$OUT/$name.time" "$@" < /dev/null > "$OUT/$name.out" 2> "$OUT/$name.err" \
    || { echo "error: $name failed; see $OUT/$name.err" >&2; exit 1; }
}

for rep in $(seq 1 "$REPS"); do
  for w in $WORKLOADS; do
    record "ours_${w}_r$rep" "$APP" bench --only "$w"
    if [ "$w" = W1 ]; then
      record "ours_train_r$rep" "$APP" train --artifact-dir "$OUT/train_r$rep"
    fi
    record "torch_${w}_r$rep" "$PY" "$TORCH_BENCH" --workload "$w" --threads 2 --infer
    if with_keras "$w"; then
      record "keras_${w}_r$rep" "$PY" "$KERAS_BENCH" --workload "$w"
    fi
  done
done

python3 - "$OUT" "$REPS" "$WORKLOADS" <<'PY'
import json, math, os, re, statistics, sys
out, reps, workloads = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()

def result(name, prefix):
    if prefix == "RESULT " and name.startswith("keras_") and not os.path.exists(f"{out}/{name}.out"):
        return {}  # Keras left out
    for line in open(f"{out}/{name}.out"):
        if line.startswith(prefix):
            return json.loads(line[len(prefix):])
    raise SystemExit(f"error: no '{prefix}' line in {out}/{name}.out")

def time_report(name):
    if not os.path.exists(f"{out}/{name}.time"):
        return math.nan, math.nan  # Keras left out
    text = open(f"{out}/{name}.time").read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
    parts = [float(p) for p in clock.split(":")]
    wall = sum(p * 60 ** (len(parts) - 1 - i) for i, p in enumerate(parts))
    return wall, rss

def median(values):
    return statistics.median(values)

print(f"{'':9} {'train seq/s':>12} {'torch':>9} {'keras':>9} {'÷torch':>7} {'÷keras':>7}"
      f" {'peak MiB':>9} {'torch':>7} {'keras':>7}")
for w in workloads:
    ours = [result(f"ours_{w}_r{r}", "bench-result ") for r in range(1, reps + 1)]
    torch = [result(f"torch_{w}_r{r}", "RESULT ") for r in range(1, reps + 1)]
    keras = [result(f"keras_{w}_r{r}", "RESULT ") for r in range(1, reps + 1)]
    o = median([x["train_sequences_per_second"] for x in ours])
    t = median([x["train_seq_per_s_steady"] for x in torch])
    k = median([x.get("train_seq_per_s_steady", x.get("train_seq_per_s_all", math.nan)) for x in keras])
    mem = [median([time_report(f"{who}_{w}_r{r}")[1] for r in range(1, reps + 1)])
           for who in ("ours", "torch", "keras")]
    print(f"{w:9} {o:12.1f} {t:9.1f} {k:9.1f} {o / t:7.2f} {o / k:7.2f}"
          f" {mem[0]:9.0f} {mem[1]:7.0f} {mem[2]:7.0f}")
if "W1" in workloads:
    train = median([time_report(f"ours_train_r{r}")[0] for r in range(1, reps + 1)])
    torch_fit = median([result(f"torch_W1_r{r}", "RESULT ")["fit_s"] for r in range(1, reps + 1)])
    keras_fit = median([result(f"keras_W1_r{r}", "RESULT ").get("fit_s", float("nan")) for r in range(1, reps + 1)])
    print(f"W1 whole `app train` process {train:.2f} s; PyTorch fit {torch_fit:.2f} s "
          f"(ratio {train / torch_fit:.2f}, target <= 0.5); Keras fit {keras_fit:.2f} s")
print(f"{'':9} {'infer seq/s':>12} {'torch':>9} {'÷torch':>7}   (inference at the workload's batch;"
      " PyTorch under torch.no_grad(), second of two passes)")
for w in workloads:
    o = median([result(f"ours_{w}_r{r}", "bench-result ")["inference_sequences_per_second"]
                for r in range(1, reps + 1)])
    torch = [result(f"torch_{w}_r{r}", "RESULT ") for r in range(1, reps + 1)]
    t = median([x[f"infer_b{x['B']}_seq_per_s"] for x in torch])
    print(f"{w:9} {o:12.1f} {t:9.1f} {o / t:7.2f}")
# The VM's speed moves between repetitions, so each repetition's own ratio says more than the
# ratio of the medians above.
print("each repetition, ours ÷ PyTorch in that repetition:")
for w in workloads:
    ratios = [result(f"ours_{w}_r{r}", "bench-result ")["train_sequences_per_second"]
              / result(f"torch_{w}_r{r}", "RESULT ")["train_seq_per_s_steady"]
              for r in range(1, reps + 1)]
    print(f"  {w} throughput " + " ".join(f"{x:.2f}" for x in ratios))
if "W1" in workloads:
    ratios = [time_report(f"ours_train_r{r}")[0] / result(f"torch_W1_r{r}", "RESULT ")["fit_s"]
              for r in range(1, reps + 1)]
    print("  W1 process / PyTorch fit " + " ".join(f"{x:.2f}" for x in ratios))
print("throughput: ours from `app bench` (all epochs), PyTorch and Keras steady state (epochs 2+)")
PY
