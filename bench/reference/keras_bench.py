"""Keras 3 (TensorFlow backend) reference for the project's benchmark workloads W1-W3, on the CPU.

What it trains: `keras.Sequential([Input((T, I)), LSTM(H, activation), Dense(1)])` compiled with
`optimizer="adam"` (learning rate 1e-3, epsilon 1e-7) and `loss="mse"`, trained by
`model.fit(X, y, epochs=E, batch_size=B, shuffle=True)` with Keras' own initialisation and its
default compilation (on a CPU-only machine Keras 3 does not use XLA). The activation is tanh
unless --activation says otherwise; `--workload W1 --activation relu` is the Keras tutorial's
program itself (its data, model, optimiser, loss, 100 epochs and batch 32).

What it measures: the wall time of each epoch of `fit` (time.perf_counter in a callback) and of
the whole `fit` call, and from the epochs the steady-state training throughput, sequences per
second over epochs 2 and on (the first traces the tf.function). For W1 it then evaluates the
trained model's MSE on the 100 sequences (`model.evaluate`, outside the timing). For W2, or
with --infer, it times `model.predict` over all sequences at the workload's batch size and at one
batch of all, each the second of two calls. During every timed region it reads how much CPU other
processes took.

Output: one line `RESULT {json}` per repetition (the fields bench/compare.sh reads are
`train_seq_per_s_steady` and `fit_s`); with --reps above 1 a `SUMMARY {json}` line follows.
Without --seed, Keras draws a fresh initialisation each run, as the tutorial does.

usage: python keras_bench.py --workload W1|W2|W3 [--activation tanh|relu] [--threads 0]
                             [--reps 1] [--infer] [--seed S] [--epochs E] [--sequences N]
"""
import time

PROCESS_START = time.perf_counter()  # before the imports, which are part of a run's cost

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices off stderr


def build(keras, w, activation):
    model = keras.Sequential([
        keras.Input(shape=(w.steps, w.features)),
        keras.layers.LSTM(w.hidden, activation=activation),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    return model


def time_inference(model, x, w):
    fields = {}
    for batch in (w.batch, w.n):
        model.predict(x, batch_size=batch, verbose=0)  # warm-up call (traces the function)
        with workloads.CpuWatch() as watch:
            model.predict(x, batch_size=batch, verbose=0)
        fields.update(workloads.inference_fields(w, batch, watch.wall_s, watch))
    return fields


def main(argv=None):
    p = workloads.parser(
        __doc__.split("\n\n")[0],
        threads_help="TensorFlow's intra- and inter-op threads; 0 (default) leaves "
                     "TensorFlow's own choice",
        threads_default=0)
    p.add_argument("--activation", default="tanh", choices=["tanh", "relu"],
                   help="the LSTM's cell and output activation (default tanh; the tutorial: relu)")
    p.add_argument("--seed", type=int, default=None,
                   help="keras.utils.set_random_seed before each model (default: unseeded)")
    args, w = workloads.parse(p, argv, min_threads=0)
    if not w.is_plain_lstm():
        p.error(f"{w.name} is not a one-layer LSTM; keras_bench.py runs W1, W2 and W3 only")

    tf = workloads.require("tensorflow", "TensorFlow")
    keras = workloads.require("keras", "Keras")
    import numpy as np

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    x, y = w.data()

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epoch_s = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_s.append(time.perf_counter() - self._start)

    results = []
    for rep in range(1, args.reps + 1):
        if args.seed is not None:
            keras.utils.set_random_seed(args.seed)  # Python's, NumPy's and TensorFlow's
        model = build(keras, w, args.activation)
        clock = EpochClock()
        with workloads.CpuWatch() as watch:
            history = model.fit(x, y, epochs=w.epochs, batch_size=w.batch, shuffle=True,
                                verbose=0, callbacks=[clock])
        result = {"framework": "keras-tf", "workload": w.name, "activation": args.activation,
                  "threads": args.threads or "tf-default", "jit_compile": bool(model.jit_compile),
                  "seed": args.seed, "rep": rep, "tag": args.tag, **w.fields(),
                  **workloads.training_fields(w, watch.wall_s, clock.epoch_s,
                                              float(history.history["loss"][-1]), watch)}
        if w.is_tutorial():
            result["eval_mse"] = float(model.evaluate(x, y, verbose=0))
        if args.infer or w.name == "W2":
            result.update(time_inference(model, x, w))
        result["process_python_s"] = time.perf_counter() - PROCESS_START
        result["peak_rss_mib_so_far"] = workloads.peak_rss_mib()
        result["versions"] = {"tensorflow": tf.__version__, "keras": keras.__version__,
                              "numpy": np.__version__, "python": sys.version.split()[0]}
        workloads.emit(result)
        results.append(result)
    workloads.emit_summary(results)


if __name__ == "__main__":
    main()
