"""PyTorch reference for the project's benchmark workloads W1-W3, on the CPU.

What it trains: `torch.nn.LSTM(I, H, batch_first=True)` (tanh, PyTorch's own initialisation), its
last hidden state into `nn.Linear(H, 1)`, mean-squared error, `torch.optim.Adam(lr=1e-3)`, each
epoch over a fresh random permutation of the sequences in mini-batches (the batch is gathered
with an index copy, as a shuffling DataLoader does). `--init keras` starts instead from Keras'
initialisation (Glorot-uniform input kernel, orthogonal recurrent kernel, zero biases but the
forget gate's at 1, Glorot-uniform head) with Keras' Adam epsilon 1e-7: the tutorial's model
as Keras starts it, with the tanh cell. The variants W2-GRU, W2-BiLSTM, W2-BiGRU and W3-GRU
train `nn.GRU` (PyTorch's GRU is Keras' reset_after=True form) or `nn.LSTM` with
`num_layers=2, bidirectional=True`, the last layer's final state of both directions into
`nn.Linear(2H, 1)` (as the project's regressor does), PyTorch's initialisation only.

What it measures: the wall time of every epoch (time.perf_counter around the shuffle, the batch
copies, forward, backward, the optimiser step and each batch's `loss.item()`), and from it the
steady-state training throughput, sequences per second over epochs 2 and on (the first is a
warm-up). For W2, or with --infer, it then times inference under `torch.no_grad()` over all
sequences, in batches of the workload's batch size and in one batch of all, each the second of
two passes. During every timed region it reads how much CPU other processes took.

Output: one line `RESULT {json}` per repetition (the fields bench/compare.sh reads are
`train_seq_per_s_steady` and `fit_s`); with --reps above 1 a `SUMMARY {json}` line follows.

usage: python torch_bench.py --workload W1|W2|W3|W2-GRU|W2-BiLSTM|W2-BiGRU|W3-GRU
                             [--threads 2] [--reps 1] [--infer]
                             [--init torch|keras] [--seed 0] [--epochs E] [--sequences N]
"""
import time

PROCESS_START = time.perf_counter()  # before the imports, which are part of a run's cost

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402


def glorot_uniform_(torch, weight, fan_in, fan_out):
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    torch.nn.init.uniform_(weight, -bound, bound)


def build(torch, w, init):
    """The model and its optimiser. With init="keras" each layer is re-initialised as Keras
    initialises LSTM(H) and Dense(1) right after PyTorch creates it."""
    h = w.hidden
    directions = 2 if w.bidirectional else 1
    cell = torch.nn.LSTM if w.cell == "lstm" else torch.nn.GRU

    class LastStateRegressor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = cell(w.features, h, num_layers=w.layers, bidirectional=w.bidirectional,
                             batch_first=True)
            if init == "keras":
                with torch.no_grad():
                    # nn.LSTM keeps the gates in Keras' order (input, forget, cell, output).
                    glorot_uniform_(torch, self.lstm.weight_ih_l0, w.features, 4 * h)
                    torch.nn.init.orthogonal_(self.lstm.weight_hh_l0)
                    self.lstm.bias_ih_l0.zero_()
                    self.lstm.bias_hh_l0.zero_()
                    self.lstm.bias_ih_l0[h:2 * h] = 1.0  # Keras' unit_forget_bias
            self.head = torch.nn.Linear(directions * h, 1)
            if init == "keras":
                with torch.no_grad():
                    glorot_uniform_(torch, self.head.weight, h, 1)
                    self.head.bias.zero_()

        def forward(self, x):
            _, state = self.lstm(x)
            h_last = state[0] if w.cell == "lstm" else state
            # [layers * directions, batch, H]: the last layer's directions, forward first.
            return self.head(torch.cat(list(h_last[-directions:]), dim=1))

    model = LastStateRegressor()
    eps = 1e-7 if init == "keras" else 1e-8
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, eps=eps)


def train(torch, model, optimizer, x, y, w):
    """Trains in place; returns (fit seconds, each epoch's seconds, last epoch's mean loss)."""
    loss_fn = torch.nn.MSELoss()
    epoch_s, epoch_loss = [], []
    model.train()
    start = time.perf_counter()
    for _ in range(w.epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(w.n)
        total = 0.0
        for first in range(0, w.n, w.batch):
            rows = order[first:first + w.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)  # Keras' epoch loss: batch losses weighted by size
        epoch_loss.append(total / w.n)
        epoch_s.append(time.perf_counter() - epoch_start)
    return time.perf_counter() - start, epoch_s, epoch_loss[-1]


def time_inference(torch, model, x, w):
    model.eval()
    fields = {}
    for batch in (w.batch, w.n):
        def predict():
            with torch.no_grad():
                return torch.cat([model(x[i:i + batch]) for i in range(0, w.n, batch)])

        predict()  # warm-up pass
        with workloads.CpuWatch() as watch:
            predict()
        fields.update(workloads.inference_fields(w, batch, watch.wall_s, watch))
    return fields


def main(argv=None):
    p = workloads.parser(
        __doc__.split("\n\n")[0],
        threads_help="torch.set_num_threads (default 2, PyTorch's faster setting on 2 cores)",
        threads_default=2)
    p.add_argument("--init", default="torch", choices=["torch", "keras"],
                   help="PyTorch's default initialisation and Adam epsilon 1e-8 (default), or "
                        "Keras' initialisation and epsilon 1e-7")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default 0)")
    args, w = workloads.parse(p, argv)
    if args.init == "keras" and not w.is_plain_lstm():
        p.error(f"--init keras is for the one-layer LSTM workloads; {w.name} has other layers")

    torch = workloads.require("torch", "PyTorch")
    import numpy as np

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_np, y_np = w.data()
    x = torch.tensor(x_np, dtype=torch.float32)
    y = torch.tensor(y_np, dtype=torch.float32)

    results = []
    for rep in range(1, args.reps + 1):
        model, optimizer = build(torch, w, args.init)
        with workloads.CpuWatch() as watch:
            fit_s, epoch_s, final_loss = train(torch, model, optimizer, x, y, w)
        result = {"framework": "torch", "workload": w.name, "threads": args.threads,
                  "init": args.init, "seed": args.seed, "rep": rep, "tag": args.tag,
                  **w.fields(), **workloads.training_fields(w, fit_s, epoch_s, final_loss, watch)}
        if w.is_tutorial():
            model.eval()
            with torch.no_grad():
                result["eval_mse"] = float(torch.mean((model(x) - y) ** 2))
        if args.infer or w.name == "W2":
            result.update(time_inference(torch, model, x, w))
        result["process_python_s"] = time.perf_counter() - PROCESS_START
        result["peak_rss_mib_so_far"] = workloads.peak_rss_mib()
        result["versions"] = {"torch": torch.__version__, "numpy": np.__version__,
                              "python": sys.version.split()[0]}
        workloads.emit(result)
        results.append(result)
    workloads.emit_summary(results)


if __name__ == "__main__":
    main()
