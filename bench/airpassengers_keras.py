"""The Keras tutorial protocol for AirPassengers ("protocol (a)" in the README), run in Keras itself.

Why: that tutorial reports one test RMSE (47.5 thousand passengers) from one run of Keras 2. This
script trains the same model the same way over several seeds, so our `train --csv` figures under
that protocol can be compared with Keras' own spread rather than with a single number.

The protocol, as the tutorial states it: min-max scaling fitted on the whole series; the first 67%
(int(144 * 0.67) = 96 values) trains, the rest tests; one past value in (look_back = 1), the next
value out; LSTM(4) (tanh) + Dense(1), Adam, MSE, 100 epochs, batch 1 (Keras shuffles each epoch).
Its windowing helper stops one sample short of each part's end, so it scores 46 test targets
(1958-02 .. 1960-11) and trains on 94; this script keeps that and also reports the RMSE over all
47 targets of the test part (1958-02 .. 1960-12), which is what our `forecast` scores.

usage: PY bench/airpassengers_keras.py [--seeds 0-14] [--gates sigmoid|hard-sigmoid-keras2]
       where PY has keras 3 + tensorflow (`bash bench/reference/make_venv.sh` builds one).
Prints one JSON line per seed and a summary line.
"""
import argparse
import csv
import json
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import keras
import tensorflow as tf

def seed_range(text):
    try:
        first, last = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST, e.g. 0-14")
    if not 0 <= first <= last:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= FIRST <= LAST")
    return first, last


ap = argparse.ArgumentParser()
ap.add_argument("--seeds", default="0-14", type=seed_range, help="inclusive range FIRST-LAST")
ap.add_argument("--gates", default="sigmoid", choices=["sigmoid", "hard-sigmoid-keras2"])
ap.add_argument("--csv", default=os.path.join(os.path.dirname(__file__), "..", "examples", "data", "airpassengers.csv"))
args = ap.parse_args()
first, last = args.seeds

try:
    with open(args.csv, newline="") as f:
        rows = list(csv.reader(f))[1:]
except OSError as error:
    raise SystemExit(f"error: cannot read {args.csv}: {error.strerror}")
series = np.array([[float(r[1])] for r in rows], dtype="float32")
lo, hi = series.min(), series.max()
scaled = (series - lo) / (hi - lo)
train_size = int(len(series) * 0.67)
train, test = scaled[:train_size], scaled[train_size:]


def pairs(part):
    # The tutorial's helper: range(len - look_back - 1), i.e. one sample short of the end.
    x = np.array([part[i, 0] for i in range(len(part) - 2)], dtype="float32")
    y = np.array([part[i + 1, 0] for i in range(len(part) - 2)], dtype="float32")
    return x.reshape(-1, 1, 1), y


def keras2_hard_sigmoid(x):
    # Keras 2's hard_sigmoid (slope 0.2); Keras 3's has slope 1/6.
    return tf.clip_by_value(0.2 * x + 0.5, 0.0, 1.0)


def unscale(v):
    return np.asarray(v).reshape(-1) * (hi - lo) + lo


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


train_x, train_y = pairs(train)
test_x, test_y = pairs(test)
all_test_x = test[:-1].reshape(-1, 1, 1)
all_test_y = test[1:, 0]
results = []
for seed in range(first, last + 1):
    keras.utils.set_random_seed(seed)
    gate = keras2_hard_sigmoid if args.gates == "hard-sigmoid-keras2" else "sigmoid"
    model = keras.Sequential([keras.Input((1, 1)), keras.layers.LSTM(4, recurrent_activation=gate), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(train_x, train_y, epochs=100, batch_size=1, verbose=0)
    train_rmse = rmse(unscale(model.predict(train_x, verbose=0)), unscale(train_y))
    test46 = rmse(unscale(model.predict(test_x, verbose=0)), unscale(test_y))
    test47 = rmse(unscale(model.predict(all_test_x, verbose=0)), unscale(all_test_y))
    line = {"seed": seed, "gates": args.gates, "train_rmse": train_rmse, "test_rmse_46": test46, "test_rmse_47": test47}
    results.append(line)
    print(json.dumps(line), flush=True)

for key in ("test_rmse_46", "test_rmse_47"):
    values = [r[key] for r in results]
    print(json.dumps({"summary": key, "gates": args.gates, "seeds": f"{first}-{last}", "median": statistics.median(values),
                      "min": min(values), "max": max(values), "below_47.5": sum(v < 47.5 for v in values)}), flush=True)
