#!/usr/bin/env bash
# Creates the virtualenv that runs the reference PyTorch and Keras benchmarks (bench/reference/)
# and bench/compare.sh's Python side, from PyPI, with the exact versions in requirements.txt.
#
#   bash bench/reference/make_venv.sh
#   LSTM_BENCH_VENV=/some/dir PYTHON=python3.12 bash bench/reference/make_venv.sh
#
# LSTM_BENCH_VENV  where the virtualenv goes (default ~/.cache/lstm-bench/venv)
# PYTHON           the interpreter it is made from (default python3; 3.10 to 3.13)
#
# PyPI's torch wheel for Linux is its CUDA build, so pip also brings NVIDIA's runtime wheels:
# the virtualenv takes about 6 GB and the first install 10 minutes or more. Only the CPU is used.
# Run again, it reuses the virtualenv and installs whatever requirements.txt pins differently.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${LSTM_BENCH_VENV:-$HOME/.cache/lstm-bench/venv}
PYTHON=${PYTHON:-python3}

if ! command -v "$PYTHON" > /dev/null; then
  echo "error: no '$PYTHON' on PATH; set PYTHON to a Python 3.10-3.13 interpreter" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $("$PYTHON" --version 2>&1)" >&2
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
echo "installing $HERE/requirements.txt (several GB on the first run)" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check --only-binary=:all: \
  -r "$HERE/requirements.txt"
TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" - <<'PY'
import keras, numpy, tensorflow, torch
print(f"ok: torch {torch.__version__}, keras {keras.__version__}, "
      f"tensorflow {tensorflow.__version__}, numpy {numpy.__version__}")
PY
if [ -n "${LSTM_BENCH_VENV:-}" ]; then
  echo "python: $VENV/bin/python (for bench/compare.sh: LSTM_BENCH_VENV=$VENV or PY=$VENV/bin/python)" >&2
else
  echo "python: $VENV/bin/python (bench/compare.sh uses it by default)" >&2
fi
