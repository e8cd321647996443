"""PyTorch on CUDA for the project's benchmark workloads: the reference `app bench --backend cuda`
and `--backend wgpu` are compared with on a GPU machine (bench/device.sh runs it).

What it trains: the model of torch_bench.py (`nn.LSTM`, cuDNN's kernels on CUDA, or `nn.GRU` and
the stacked bidirectional variants; PyTorch's initialisation; `nn.Linear` head; MSE;
`Adam(lr=1e-3)`), with data, model and optimiser on the GPU and each epoch over a fresh
permutation drawn on the GPU.

What differs from torch_bench.py, and why: each epoch's loss is summed on the device and read
once at the epoch's end (as `app` does), not with `loss.item()` per batch, which would wait for
the GPU after every step; every epoch and inference pass is timed with CUDA events recorded on
the stream (its wall time is reported beside them). Matrix products run in fp32 by default:
`--tf32 off` sets both `torch.backends.cuda.matmul.allow_tf32` and
`torch.backends.cudnn.allow_tf32` to False (cuDNN's default is True), `--tf32 on` sets both to
True; report the two apart, since TF32 rounds inputs to 10-bit mantissas.

What it measures: as torch_bench.py, the steady-state training throughput (epochs 2 and on; the
first carries cuDNN's plan selection and the allocator's growth), and inference under
`torch.no_grad()` at the workload's batch, the second of two passes.

Output: one line `RESULT {json}` per repetition, with the fields of torch_bench.py plus
`device_name`, `tf32`, `cudnn`, `epoch_wall_s`. A machine without a CUDA device stops with one
`error:` line.

usage: python torch_gpu_bench.py --workload W1|W2|W3|W2-GRU|W2-BiLSTM|W2-BiGRU|W3-GRU
                                 [--tf32 off|on] [--reps 1] [--epochs E] [--sequences N]
"""
import time

PROCESS_START = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench  # noqa: E402
import workloads  # noqa: E402


class Stamp:
    """A point on the device's stream: a CUDA event, or on the CPU (`--device cpu`, a check of
    this script on a machine without a GPU) the wall clock."""

    def __init__(self, torch, device):
        self.torch, self.cuda = torch, device.type == "cuda"
        self.event = torch.cuda.Event(enable_timing=True) if self.cuda else None
        self.wall = None

    def record(self):
        if self.cuda:
            self.event.record()
        else:
            self.wall = time.perf_counter()

    def seconds_until(self, later):
        if self.cuda:
            return self.event.elapsed_time(later.event) / 1e3
        return later.wall - self.wall


def synchronize(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train(torch, model, optimizer, x, y, w):
    """Trains in place; returns (fit wall seconds, each epoch's seconds by CUDA events, each
    epoch's wall seconds, the last epoch's mean loss)."""
    loss_fn = torch.nn.MSELoss()
    events, walls, losses = [], [], []
    model.train()
    synchronize(torch, x.device)
    start = time.perf_counter()
    for _ in range(w.epochs):
        wall_start = time.perf_counter()
        begin, end = Stamp(torch, x.device), Stamp(torch, x.device)
        begin.record()
        order = torch.randperm(w.n, device=x.device)
        total = torch.zeros((), device=x.device)
        for first in range(0, w.n, w.batch):
            rows = order[first:first + w.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(rows)
        end.record()
        losses.append(float(total) / w.n)  # waits for the epoch, as app's once-per-epoch read
        walls.append(time.perf_counter() - wall_start)
        events.append((begin, end))
    synchronize(torch, x.device)
    fit_s = time.perf_counter() - start
    epoch_s = [begin.seconds_until(end) for begin, end in events]
    return fit_s, epoch_s, walls, losses[-1]


def time_inference(torch, model, x, w):
    model.eval()
    fields = {}
    for batch in (w.batch, w.n):
        def predict():
            with torch.no_grad():
                return torch.cat([model(x[i:i + batch]) for i in range(0, w.n, batch)])

        predict()  # warm-up pass
        synchronize(torch, x.device)
        begin, end = Stamp(torch, x.device), Stamp(torch, x.device)
        with workloads.CpuWatch() as watch:
            begin.record()
            predict()
            end.record()
            synchronize(torch, x.device)
        fields.update(workloads.inference_fields(w, batch, begin.seconds_until(end), watch))
    return fields


def main(argv=None):
    p = workloads.parser(
        __doc__.split("\n\n")[0],
        threads_help="torch.set_num_threads for the host side (default 1)",
        threads_default=1)
    p.add_argument("--tf32", default="off", choices=["off", "on"],
                   help="TF32 tensor-core products in matmul and cuDNN (default off: fp32)")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default 0)")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                   help="cuda (default), or cpu to check this script where there is no GPU "
                        "(its figures are not torch_bench.py's: losses are read per epoch)")
    args, w = workloads.parse(p, argv)
    torch = workloads.require("torch", "PyTorch")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("PyTorch finds no CUDA device (torch.cuda.is_available() is False)")
    import numpy as np

    tf32 = args.tf32 == "on"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    x_np, y_np = w.data()
    x = torch.tensor(x_np, dtype=torch.float32, device=device)
    y = torch.tensor(y_np, dtype=torch.float32, device=device)

    results = []
    for rep in range(1, args.reps + 1):
        model, _ = torch_bench.build(torch, w, "torch")
        model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
        with workloads.CpuWatch() as watch:
            fit_s, epoch_s, epoch_wall_s, final_loss = train(torch, model, optimizer, x, y, w)
        result = {"framework": f"torch-{args.device}", "workload": w.name, "tf32": args.tf32,
                  "seed": args.seed, "rep": rep, "tag": args.tag, **w.fields(),
                  **workloads.training_fields(w, fit_s, epoch_s, final_loss, watch),
                  "epoch_wall_s": epoch_wall_s}
        if w.is_tutorial():
            model.eval()
            with torch.no_grad():
                result["eval_mse"] = float(torch.mean((model(x) - y) ** 2))
        result.update(time_inference(torch, model, x, w))
        result["process_python_s"] = time.perf_counter() - PROCESS_START
        result["device_name"] = (torch.cuda.get_device_name(0) if device.type == "cuda"
                                 else "cpu")
        result["cudnn"] = torch.backends.cudnn.version() if device.type == "cuda" else None
        result["versions"] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                              "numpy": np.__version__, "python": sys.version.split()[0]}
        workloads.emit(result)
        results.append(result)
    workloads.emit_summary(results)


if __name__ == "__main__":
    main()
