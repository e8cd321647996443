"""Writes the bundled example series (wineind.csv, lynx.csv, nile.csv, sunspots.csv,
seattle-weather.csv) from the data files of three PyPI packages, without installing them or their
dependencies:

    pip download --no-deps statsmodels==0.14.4 pmdarima==2.0.4 vega_datasets==0.9.0 -d wheels
    python3 make_datasets.py wheels

statsmodels ships Nile and sunspots as CSV files; pmdarima ships wineind and lynx as NumPy array
literals inside its loader modules, which are read here with `ast` (nothing is executed);
vega_datasets ships the Seattle weather as a CSV file, copied unchanged.
"""

import ast
import csv
import glob
import io
import os
import sys
import zipfile


def wheel(directory, name):
    (path,) = glob.glob(os.path.join(directory, f"{name}-*.whl"))
    return zipfile.ZipFile(path)


def pmdarima_array(archive, module, function):
    """The first `np.array([...])` literal in `function` of pmdarima/datasets/`module`.py."""
    tree = ast.parse(archive.read(f"pmdarima/datasets/{module}.py").decode())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and getattr(call.func, "attr", None) == "array"
                    and call.args
                    and isinstance(call.args[0], ast.List)
                ):
                    return [ast.literal_eval(element) for element in call.args[0].elts]
    raise SystemExit(f"no array literal in {module}.{function}")


def write(name, header, rows):
    with open(name, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows")


def main(directory):
    statsmodels = wheel(directory, "statsmodels")
    pmdarima = wheel(directory, "pmdarima")

    wine = pmdarima_array(pmdarima, "wineind", "load_wineind")
    assert len(wine) == 176, len(wine)
    months = [f"{1980 + i // 12}-{i % 12 + 1:02d}" for i in range(len(wine))]
    write("wineind.csv", ["month", "sales"], list(zip(months, wine)))

    lynx = pmdarima_array(pmdarima, "lynx", "load_lynx")
    assert len(lynx) == 114, len(lynx)
    write("lynx.csv", ["year", "trappings"], [(1821 + i, v) for i, v in enumerate(lynx)])

    for name, member, header in [
        ("nile.csv", "statsmodels/datasets/nile/nile.csv", ["year", "volume"]),
        ("sunspots.csv", "statsmodels/datasets/sunspots/sunspots.csv", ["year", "activity"]),
    ]:
        text = statsmodels.read(member).decode()
        rows = list(csv.reader(io.StringIO(text)))[1:]
        write(name, header, [(int(float(year)), value) for year, value in rows])

    vega = wheel(directory, "vega_datasets")
    weather = vega.read("vega_datasets/_data/seattle-weather.csv")
    assert len(weather.splitlines()) == 1462, len(weather.splitlines())
    with open("seattle-weather.csv", "wb") as file:
        file.write(weather)
    print("wrote seattle-weather.csv: 1461 rows")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "wheels")
