"""What torch_bench.py and keras_bench.py share: the workloads, their data, the FLOP count, the
command line, a probe of other processes' CPU use, and the RESULT line. Needs only NumPy, so that
neither benchmark's memory figure carries the other framework.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


class Workload:
    """One benchmark workload: `n` sequences of `steps` steps with `features` inputs each,
    `layers` recurrent layers (`cell` "lstm" or "gru", both directions when `bidirectional`) of
    `hidden` units per direction and a Dense(1) head on the last layer's final state, trained
    `epochs` epochs in mini-batches of `batch`."""

    def __init__(self, name, n, steps, features, hidden, batch, epochs, about,
                 cell="lstm", layers=1, bidirectional=False):
        self.name, self.n, self.steps, self.features = name, n, steps, features
        self.hidden, self.batch, self.epochs, self.about = hidden, batch, epochs, about
        self.cell, self.layers, self.bidirectional = cell, layers, bidirectional

    def is_plain_lstm(self):
        return (self.cell, self.layers, self.bidirectional) == ("lstm", 1, False)

    def variant(self, name, about, cell, layers=1, bidirectional=False):
        """This workload's data and sizes with other layers."""
        return Workload(name, self.n, self.steps, self.features, self.hidden, self.batch,
                        self.epochs, about, cell, layers, bidirectional)

    def fields(self):
        """The shape fields of a RESULT line (the names the project's scripts have always used)."""
        return {"N": self.n, "T": self.steps, "I": self.features, "H": self.hidden,
                "B": self.batch, "E": self.epochs, "cell": self.cell, "layers": self.layers,
                "bidirectional": self.bidirectional}

    def is_tutorial(self):
        return (self.n, self.steps, self.features) == (100, 10, 1)

    def data(self):
        """The inputs and targets, y = sin(mean of the sequence's values).

        The tutorial's data (W1) is exactly the Keras tutorial's: `np.random.seed(0)`, then
        `X = np.random.randn(100, 10, 1)`, `y = np.sin(np.mean(X, axis=1))`, kept in float64 as the
        tutorial hands it to Keras (both frameworks train in float32). W2 and W3 follow the same
        recipe at their size, drawn in float64 from the same seed and stored as float32.
        """
        import numpy as np

        np.random.seed(0)
        x = np.random.randn(self.n, self.steps, self.features)
        if self.is_tutorial():
            return x, np.sin(np.mean(x, axis=1))
        x = x.astype(np.float32)
        y = np.sin(x.mean(axis=(1, 2))).reshape(-1, 1).astype(np.float32)
        return x, y

    def forward_flops_per_sequence(self):
        """Model FLOPs of one sequence's forward pass. Per step, layer and direction the gate
        products cost 2 * G * H * (I + H) for G gates (4 for the LSTM, 3 for the GRU) and the
        layer's input width I (the features, then the layer below's D * H outputs); for the LSTM
        the bias add (4H), the five activations (5H, one each), the cell update c = f*c + i*g
        (3H) and h = o*act(c) (1H) add 13H, and the GRU is counted with the same 13H; the Dense(1)
        head adds 2 * D * H once."""
        gates = 4 if self.cell == "lstm" else 3
        directions = 2 if self.bidirectional else 1
        h, t = self.hidden, self.steps
        per_step = 0
        for layer in range(self.layers):
            i = self.features if layer == 0 else directions * h
            per_step += directions * (2 * gates * h * (i + h) + 13 * h)
        return t * per_step + 2 * directions * h

    def train_flops_per_sequence(self):
        """Forward plus backward, the backward counted as twice the forward."""
        return 3 * self.forward_flops_per_sequence()


_W2 = Workload("W2", 10_000, 50, 1, 64, 64, 3, "many short sequences, small model")
_W3 = Workload("W3", 4_096, 100, 8, 256, 128, 2, "longer sequences, wider model")
WORKLOADS = {
    w.name: w for w in (
        Workload("W1", 100, 10, 1, 50, 32, 100, "the Keras tutorial"),
        _W2,
        _W3,
        _W2.variant("W2-GRU", "W2 with a GRU", "gru"),
        _W2.variant("W2-BiLSTM", "W2 with 2 bidirectional LSTM layers", "lstm", 2, True),
        _W2.variant("W2-BiGRU", "W2 with 2 bidirectional GRU layers", "gru", 2, True),
        _W3.variant("W3-GRU", "W3 with a GRU", "gru"),
    )
}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def parser(description, threads_help, threads_default):
    """The command line both benchmarks take; the caller adds its framework's own flags."""
    p = OneLineParser(description=description,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ", ".join(f"{w.name} ({w.about}: {w.n} x {w.steps} x {w.features}, H={w.hidden}, "
                      f"batch {w.batch}, {w.epochs} epochs)" for w in WORKLOADS.values())
    p.add_argument("--workload", required=True, metavar="W", help=f"one of {names}")
    p.add_argument("--threads", type=int, default=threads_default, help=threads_help)
    p.add_argument("--reps", type=int, default=1,
                   help="train this many fresh models in this process, one RESULT line each "
                        "(default 1; bench/compare.sh starts one process per repetition)")
    p.add_argument("--infer", action="store_true",
                   help="also time inference (always done for W2)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override the workload's epochs (at least 2), for a shorter check")
    p.add_argument("--sequences", type=int, default=None,
                   help="override the workload's number of sequences, for a shorter check")
    p.add_argument("--tag", default="", help="a label copied into the RESULT line")
    return p


def parse(p, argv=None, min_threads=1):
    """Parses and checks the common flags; returns (args, workload)."""
    args = p.parse_args(argv)
    w = {name.upper(): w for name, w in WORKLOADS.items()}.get(args.workload.upper())
    if w is None:
        p.error(f"unknown workload '{args.workload}'; choose one of {', '.join(WORKLOADS)}")
    if args.threads < min_threads:
        p.error(f"--threads must be at least {min_threads}, got {args.threads}")
    if args.reps < 1:
        p.error(f"--reps must be at least 1, got {args.reps}")
    if args.epochs is not None and args.epochs < 2:
        p.error(f"--epochs must be at least 2 (the first is the warm-up), got {args.epochs}")
    if args.sequences is not None and args.sequences < 1:
        p.error(f"--sequences must be at least 1, got {args.sequences}")
    if args.epochs is not None or args.sequences is not None:
        w = Workload(w.name, args.sequences or w.n, w.steps, w.features, w.hidden, w.batch,
                     args.epochs or w.epochs, w.about + ", resized", w.cell, w.layers,
                     w.bidirectional)
    return args, w


def require(module, what):
    """Imports a framework or stops with one line saying which Python to use."""
    try:
        return __import__(module)
    except ImportError as e:
        sys.stderr.write(f"error: this Python ({sys.executable}) cannot import {what} ({e}); "
                         "make the benchmark virtualenv with bench/reference/make_venv.sh and "
                         "run this script with its python\n")
        sys.exit(1)


def _machine_busy_seconds():
    """CPU-seconds all processes have spent busy since boot (user..steal, /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """Times a region and says how busy the machine's CPUs were with *other* processes during it:
    foreign % = 100 * (machine busy CPU time - this process's CPU time) / (wall time * CPUs).
    A figure taken while another process ran is slower than the machine's own; read it with this
    percentage next to it."""

    def __enter__(self):
        self._busy = _machine_busy_seconds()
        t = os.times()
        self._own = t.user + t.system
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self._start
        t = os.times()
        own = t.user + t.system - self._own
        busy = _machine_busy_seconds() - self._busy
        cpus = os.cpu_count() or 1
        self.foreign_pct = max(0.0, 100.0 * (busy - own) / (self.wall_s * cpus))
        self.own_pct = 100.0 * own / (self.wall_s * cpus)
        return False


def training_fields(w, fit_s, epoch_s, final_loss, watch):
    """The training part of a RESULT line. Steady-state throughput leaves out the first epoch,
    which carries the frameworks' warm-up (graph tracing in TensorFlow, allocator growth)."""
    steady_s = sum(epoch_s[1:])
    steady_sequences = w.n * (w.epochs - 1)
    return {
        "fit_s": fit_s,
        "epoch_s": epoch_s,
        "train_seq_per_s_all": w.n * w.epochs / fit_s,
        "train_seq_per_s_steady": steady_sequences / steady_s,
        "train_gflops_steady": steady_sequences * w.train_flops_per_sequence() / steady_s / 1e9,
        "final_loss": final_loss,
        "foreign_cpu_pct_during_fit": watch.foreign_pct,
        "own_cpu_util_pct_during_fit": watch.own_pct,
    }


def inference_fields(w, batch, seconds, watch):
    """The inference part of a RESULT line, for one batch size."""
    return {
        f"infer_b{batch}_s": seconds,
        f"infer_b{batch}_seq_per_s": w.n / seconds,
        f"infer_b{batch}_gflops": w.n * w.forward_flops_per_sequence() / seconds / 1e9,
        f"infer_b{batch}_foreign_cpu_pct": watch.foreign_pct,
    }


def peak_rss_mib():
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result):
    """Prints one result as `RESULT {json}`, the line bench/compare.sh reads."""
    print("RESULT " + json.dumps(result), flush=True)


def emit_summary(results):
    """After several repetitions, one `SUMMARY {json}` line with the medians."""
    if len(results) < 2:
        return
    keys = ("fit_s", "train_seq_per_s_steady", "train_seq_per_s_all", "final_loss", "eval_mse")
    summary = {"reps": len(results)}
    for k in keys:
        values = [r[k] for r in results if k in r]
        if values:
            summary[f"median_{k}"] = statistics.median(values)
            summary[f"min_{k}"] = min(values)
            summary[f"max_{k}"] = max(values)
    print("SUMMARY " + json.dumps(summary), flush=True)
