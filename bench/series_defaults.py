"""Test RMSE of `app train --csv` on the bundled real series, over seeds and flag sets, next to
the naive, seasonal-naive and linear baselines scored on the same targets. It is how the defaults of a
series run were chosen and how docs/forecasting.md's tables were made.

    cargo build -p app
    python3 bench/series_defaults.py                       # the default run, seeds 0-4
    python3 bench/series_defaults.py --seeds 0-2 \\
        --flags "" --flags "--transform none --difference 0 --seasonal-difference=false"
    python3 bench/series_defaults.py --series seattle --flags "--window 14" \\
        --flags "--window 14 --features temp_min,precipitation,wind"   # docs/forecasting.md

Each flag set is added to the series' own flags (column, date column, season) and to
`--epochs 100`; each run trains into a temporary directory and reads its metrics.json. The
table prints the median over the seeds, each seed's value, and how many seeds beat the better
naive baseline and the linear one. APP names the binary (default: target/debug/app).
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


def run(app, csv, series_flags, flags, seed):
    with tempfile.TemporaryDirectory() as directory:
        command = (
            [app, "train", "--csv", csv]
            + series_flags.split()
            + ["--epochs", "100", "--seed", str(seed), "--artifact-dir", directory]
            + flags.split()
        )
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
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
    args = parser.parse_args()
    app = os.environ.get("APP", os.path.join(ROOT, "target", "debug", "app"))
    flag_sets = args.flags or [""]
    print(f"| series | flags | model RMSE, median (seeds {args.seeds[0]}-{args.seeds[-1]}) "
          f"| each seed | naive | seasonal naive | linear | seeds beating the better naive "
          f"baseline | seeds beating linear |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.series or DEFAULT_SERIES:
        file, series_flags = SERIES[name]
        for flags in flag_sets:
            rmses = []
            for seed in args.seeds:
                metrics, transform = run(app, os.path.join(DATA, file), series_flags, flags, seed)
                rmses.append(metrics["model"]["rmse"])
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


if __name__ == "__main__":
    main()
