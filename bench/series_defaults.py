"""Test RMSE of `app train --csv` on the bundled real series, over seeds and flag sets, next to
the naive, seasonal-naive and linear baselines scored on the same targets. It is how the defaults of a
series run were chosen and how docs/forecasting.md's tables were made.

    cargo build -p app
    python3 bench/series_defaults.py                       # the default run, seeds 0-4
    python3 bench/series_defaults.py --seeds 0-2 \\
        --flags "" --flags "--transform none --difference 0 --seasonal-difference=false"
    python3 bench/series_defaults.py --series seattle --flags "--window 14" \\
        --flags "--window 14 --features temp_min,precipitation,wind"   # docs/forecasting.md
    python3 bench/series_defaults.py --series airpassengers \\
        --flags "--horizon 3 --quantiles 0.1,0.25,0.75,0.9"            # the intervals table
    python3 bench/series_defaults.py --command backtest --series airpassengers \\
        --flags "--horizon 3 --start 1957-01 --refit-every 6"          # the backtest table

Each flag set is added to the series' own flags (column, date column, season) and to
`--epochs 100`; each run trains into a temporary directory and reads its metrics.json. The
table prints the median over the seeds, each seed's value, and how many seeds beat the better
naive baseline and the linear one. Runs with `--quantiles` add a second table: each central
interval's coverage of the test targets (median and each seed), its mean width and the mean
pinball loss. `--command backtest` runs `app backtest` instead of `app train` (give it --start and
the other backtest flags in --flags), scores its overall results and adds each flag set's median
seconds per fold (training and forecasting one fold's origins). APP names the binary (default:
target/debug/app).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "examples", "data")

# name: (file, flags that describe the series); the season is given where the series has one.
SERIES = {
    "airpassengers": ("airpassengers.csv", "--column passengers --date-column month --season 12"),
    "wineind": ("wineind.csv", "--column sales --date-column month --season 12"),
    "nile": ("nile.csv", "--column volume --date-column year"),
    "sunspots": ("sunspots.csv", "--column activity --date-column year"),
    "lynx": ("lynx.csv", "--column trappings --date-column year"),
    # Daily, several columns: run it with and without --features (not in the default set).
    "seattle": ("seattle-weather.csv", "--target temp_max --date-column date"),
}
DEFAULT_SERIES = ["airpassengers", "wineind", "nile", "sunspots", "lynx"]


def seeds(text):
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split(",")]


def run(app, command_name, csv, series_flags, flags, seed):
    with tempfile.TemporaryDirectory() as directory:
        command = (
            [app, command_name, "--csv", csv]
            + series_flags.split()
            + ["--epochs", "100", "--seed", str(seed), "--artifact-dir", directory]
            + flags.split()
        )
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        if command_name == "backtest":
            with open(os.path.join(directory, "backtest.json")) as file:
                report = json.load(file)
            metrics = report["overall"]
            metrics["fold_seconds"] = [fold["seconds"] for fold in report["folds"]]
        else:
            with open(os.path.join(directory, "metrics.json")) as file:
                metrics = json.load(file)
        transform = next(
            (line for line in result.stdout.splitlines() if line.startswith("Transform:")), ""
        )
        return metrics, transform


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=seeds, default=seeds("0-4"))
    parser.add_argument("--series", action="append", choices=sorted(SERIES))
    parser.add_argument("--flags", action="append", help="a flag set (repeatable); default: none")
    parser.add_argument("--show-transform", action="store_true")
    parser.add_argument("--command", choices=["train", "backtest"], default="train")
    args = parser.parse_args()
    app = os.environ.get("APP", os.path.join(ROOT, "target", "debug", "app"))
    flag_sets = args.flags or [""]
    print(f"| series | flags | model RMSE, median (seeds {args.seeds[0]}-{args.seeds[-1]}) "
          f"| each seed | naive | seasonal naive | linear | seeds beating the better naive "
          f"baseline | seeds beating linear |")
    print("|---|---|---|---|---|---|---|---|---|")
    intervals = []
    for name in args.series or DEFAULT_SERIES:
        file, series_flags = SERIES[name]
        for flags in flag_sets:
            rmses = []
            quantile_runs = []
            fold_seconds = []
            for seed in args.seeds:
                metrics, transform = run(app, args.command, os.path.join(DATA, file),
                                         series_flags, flags, seed)
                rmses.append(metrics["model"]["rmse"])
                if "coverage" in metrics["model"]:
                    quantile_runs.append(metrics["model"])
                fold_seconds.extend(metrics.get("fold_seconds", []))
                if args.show_transform and seed == args.seeds[0]:
                    print(f"<!-- {name}: {transform} -->")
            naive = metrics["naive"]["rmse"]
            seasonal = (metrics.get("seasonal_naive") or {}).get("rmse")
            best = min(naive, seasonal) if seasonal is not None else naive
            wins = sum(rmse < best for rmse in rmses)
            linear = metrics["linear"]["rmse"]
            linear_wins = sum(rmse < linear for rmse in rmses)
            each = ", ".join(f"{rmse:.4g}" for rmse in rmses)
            seasonal_text = f"{seasonal:.4g}" if seasonal is not None else "–"
            print(f"| {name} | `{flags or '(defaults)'}` | {statistics.median(rmses):.4g} | {each} "
                  f"| {naive:.4g} | {seasonal_text} | {linear:.4g} | {wins} of {len(rmses)} "
                  f"| {linear_wins} of {len(rmses)} |", flush=True)
            if fold_seconds:
                print(f"<!-- {name} `{flags}`: {len(fold_seconds)} folds, median "
                      f"{statistics.median(fold_seconds):.2f} s per fold (from "
                      f"{min(fold_seconds):.2f} to {max(fold_seconds):.2f}) -->", flush=True)
            for level in sorted(quantile_runs[0]["coverage"] if quantile_runs else [], key=float):
                coverages = [m["coverage"][level] for m in quantile_runs]
                widths = [m["width"][level] for m in quantile_runs]
                pinballs = [m["pinball"] for m in quantile_runs]
                intervals.append(
                    f"| {name} | `{flags}` | {float(level):.0%} | {statistics.median(coverages):.1%} "
                    f"({', '.join(f'{c:.1%}' for c in coverages)}) | {statistics.median(widths):.4g} "
                    f"| {statistics.median(pinballs):.4g} |")
    if intervals:
        print()
        print("| series | flags | interval | coverage, median (each seed) | mean width, median "
              "| pinball loss, median |")
        print("|---|---|---|---|---|---|")
        print("\n".join(intervals))


if __name__ == "__main__":
    main()
