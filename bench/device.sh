#!/usr/bin/env bash
# The GPU benchmark, made to fit a short slot on a borrowed GPU machine (at most 6 minutes): the
# kernels' gate tests on the real GPU, `app bench` on cuda and wgpu with a warm-up epoch left
# out of the timing, the tutorial's whole `train --backend cuda` process, and PyTorch's cuDNN
# reference of the same workloads (TF32 off and on apart), then a table of ratios. Everything is
# written to the output folder as it goes, and each stage runs under its own `timeout`, so a
# slot that ends early still leaves what was measured.
#
# On a CPU machine with this checkout (a release build with CUDA and the gate tests; no CUDA
# toolkit is needed; about 20 minutes cold):
#   bench/device.sh --stage DIR
# DIR then holds this script, the stripped `app` and `model-gate` binaries, the reference
# scripts, and the Vulkan loader (lib/libvulkan.so.1) in case the GPU machine lacks one.
# On the GPU machine:
#   DIR/device.sh OUT
# Environment: PY, the Python with a CUDA build of PyTorch (default python3; the PyTorch stage is
# skipped with a note when it has none); WORKLOADS (default "W1 W2 W3").
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

stage() {
  local dir=$1 root
  root=$(cd "$HERE/.." && pwd)
  set -e
  mkdir -p "$dir/lib" "$dir/reference"
  cd "$root"
  echo "building app (--features cuda) and the model's gate tests, release" >&2
  cargo build --release -p app --features cuda
  local gate
  gate=$(cargo test --release -p model --features wgpu,cuda --no-run --message-format=json-render-diagnostics \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "model" and m["profile"]["test"]:
        print(m["executable"])')
  [ -n "$gate" ] || { echo "error: no model test binary was built" >&2; exit 1; }
  cp "${CARGO_TARGET_DIR:-target}/release/app" "$dir/app"
  cp "$gate" "$dir/model-gate"
  strip "$dir/app" "$dir/model-gate"
  cp bench/device.sh "$dir/device.sh"
  cp bench/reference/torch_gpu_bench.py bench/reference/torch_bench.py \
    bench/reference/workloads.py "$dir/reference/"
  local loader
  loader=$(ldconfig -p | awk '/libvulkan.so.1 /{print $NF; exit}')
  if [ -n "$loader" ]; then cp -L "$loader" "$dir/lib/libvulkan.so.1"; fi
  du -sh "$dir"/* >&2
  echo "staged in $dir; on the GPU machine run: $dir/device.sh OUT" >&2
}

if [ "${1:-}" = --stage ]; then
  [ -n "${2:-}" ] || { echo "error: --stage needs a folder" >&2; exit 2; }
  stage "$2"
  exit
fi
[ -n "${1:-}" ] || { echo "usage: $0 OUT  (or: $0 --stage DIR on the build machine)" >&2; exit 2; }
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
APP=${APP:-$HERE/app}
GATE=${GATE:-$HERE/model-gate}
PY=${PY:-python3}
WORKLOADS=${WORKLOADS:-"W1 W2 W3"}
for need in "$APP" "$GATE"; do
  [ -x "$need" ] || { echo "error: $need not found; stage this folder with bench/device.sh --stage" >&2; exit 1; }
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
# The staged Vulkan loader, only where the machine has none of its own.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' && [ -e "$HERE/lib/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH=$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
START=$(date +%s)
log() { echo "[$(( $(date +%s) - START ))s] $*" | tee -a "$OUT/log.txt" >&2; }
# run NAME SECONDS COMMAND...: the command's output in OUT/NAME.txt, its status in the log.
run() {
  local name=$1 seconds=$2; shift 2
  log "$name (limit ${seconds}s): $*"
  timeout "$seconds" "$@" > "$OUT/$name.txt" 2>&1
  local status=$?
  log "$name: exit $status$([ $status = 124 ] && echo ', timed out')"
  return 0
}

run nvidia-smi 15 nvidia-smi
HAVE_CUDA=0
grep -q "NVIDIA-SMI" "$OUT/nvidia-smi.txt" && HAVE_CUDA=1
command -v vulkaninfo > /dev/null && run vulkaninfo 15 vulkaninfo --summary

# The gate: the LSTM kernels, the gate join and split, the unit product and Adam against the
# tensor-op version and NdArray, on wgpu (Vulkan on this GPU) and, where the driver answers, on
# CUDA.
if [ $HAVE_CUDA = 1 ]; then
  LSTM_REQUIRE_CUDA=1 run gate 90 "$GATE" lstm_op::cube:: adam_kernel
else
  run gate 90 "$GATE" lstm_op::cube:: adam_kernel
fi

list=$(echo $WORKLOADS | tr ' ' ',')
[ $HAVE_CUDA = 1 ] && run bench-cuda 120 "$APP" bench --backend cuda --workloads "$list"
run bench-wgpu 90 "$APP" bench --backend wgpu --workloads "$list"
if [ $HAVE_CUDA = 1 ]; then
  # The tutorial's whole process, compilation of every kernel included (target: under 2 s).
  run tutorial-cuda 60 bash -c "time '$APP' train --backend cuda --artifact-dir '$OUT/tutorial-run'"
fi

if [ $HAVE_CUDA = 1 ] && "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null; then
  for w in $WORKLOADS; do
    for tf32 in off on; do
      run "torch-$w-tf32-$tf32" 45 "$PY" "$HERE/reference/torch_gpu_bench.py" --workload "$w" --tf32 "$tf32"
    done
  done
else
  log "PyTorch stage skipped: $PY has no CUDA build of PyTorch here (set PY), or no GPU answered"
fi

python3 - "$OUT" $WORKLOADS > "$OUT/summary.txt" <<'PY'
import json, os, sys
out, workloads = sys.argv[1], sys.argv[2:]

def ours(backend):
    rows = {}
    path = f"{out}/bench-{backend}.txt"
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if parts and parts[0] in workloads and len(parts) >= 3:
                try:
                    rows[parts[0]] = (float(parts[1]), float(parts[3]))
                except ValueError:
                    pass
    return rows

def torch(w, tf32):
    path = f"{out}/torch-{w}-tf32-{tf32}.txt"
    if not os.path.exists(path):
        return None
    for line in open(path):
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            return r["train_seq_per_s_steady"], r.get(f"infer_b{r['B']}_seq_per_s", float("nan"))
    return None

cuda, wgpu = ours("cuda"), ours("wgpu")
print(f"{'':8} {'cuda seq/s':>11} {'wgpu seq/s':>11} {'torch fp32':>11} {'torch tf32':>11} "
      f"{'cuda/fp32':>10} {'wgpu/fp32':>10}")
nan = float("nan")
for w in workloads:
    c, g = cuda.get(w, (nan, nan))[0], wgpu.get(w, (nan, nan))[0]
    t32, ttf = (torch(w, "off") or (nan, nan))[0], (torch(w, "on") or (nan, nan))[0]
    print(f"{w:8} {c:11.0f} {g:11.0f} {t32:11.0f} {ttf:11.0f} {c / t32:10.2f} {g / t32:10.2f}")
print("inference seq/s at the workload's batch:")
for w in workloads:
    c, g = cuda.get(w, (nan, nan))[1], wgpu.get(w, (nan, nan))[1]
    t32 = (torch(w, "off") or (nan, nan))[1]
    print(f"{w:8} cuda {c:.0f}, wgpu {g:.0f}, torch fp32 {t32:.0f}")
print("training: ours after one warm-up epoch; PyTorch's steady state (epochs 2 and on)")
PY
cat "$OUT/summary.txt" | tee -a "$OUT/log.txt"
log "done"
