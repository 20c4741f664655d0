"""smmusim: drive smmu-sim from Python and read what it writes (README, "Python").

Every simulation runs as an `smmu-sim` process (the SystemC kernel runs one
simulation per process), found as $SMMUSIM_BIN or `smmu-sim` on PATH. Results
come back as the stats JSON's dicts; tables (sweeps, histograms) as pandas
DataFrames when pandas is installed, else as lists of dicts.

`smmusim.core` is the C++ core itself when the build made it (the pybind11
module `smmusim._core`, in build/python/smmusim/ with a copy of this package):
decode/encode, translate and validate_config in this process, no SystemC.
Without it, `smmusim.core` is None and decode() runs `smmu-sim decode`.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile

try:
    from . import _core as core
except ImportError:  # the package from the source tree, or a build without pybind11
    core = None

__all__ = ["core", "SmmuSimError", "binary", "run", "decode", "translate", "sweep", "collect", "latency_histogram", "table"]


class SmmuSimError(Exception):
    """smmu-sim exited with an error: `code` (README, "Commands": 2 bad input, 3 simulation error,
    4 stale translations) and its one-line message in `message`."""

    def __init__(self, code, message):
        super().__init__("smmu-sim exited %d: %s" % (code, message))
        self.code = code
        self.message = message


def binary():
    """The smmu-sim executable: $SMMUSIM_BIN, else `smmu-sim` on PATH."""
    path = os.environ.get("SMMUSIM_BIN") or shutil.which("smmu-sim")
    if not path:
        raise FileNotFoundError("smmu-sim: set SMMUSIM_BIN or put the build's smmu-sim on PATH")
    return path


def _smmu_sim(args, ok=(0,), cwd=None):
    p = subprocess.run([binary()] + [str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    if p.returncode not in ok:
        raise SmmuSimError(p.returncode, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "")
    return p


def _config_args(configs, sets):
    if isinstance(configs, (str, os.PathLike)):
        configs = [configs]
    args = []
    for c in configs:
        args += ["--config", c]
    for s in sets:
        args += ["--set", s]
    return args


def run(configs, trace=None, sets=(), allow_stale=False, cwd=None):
    """`smmu-sim run`: the stats JSON as a dict (README, "Reading the stats")."""
    with tempfile.TemporaryDirectory(prefix="smmusim-") as tmp:
        stats = os.path.join(tmp, "stats.json")
        args = ["run"] + _config_args(configs, sets) + ["--stats", stats, "--quiet"]
        if trace:
            args += ["--trace", trace]
        if allow_stale:
            args.append("--allow-stale")
        _smmu_sim(args, cwd=cwd)
        with open(stats) as f:
            return json.load(f)


def decode(structure, *words):
    """`smmu-sim decode`: an STE, CD, command, event or s1pte/s2pte descriptor's fields from its
    64-bit words (in this process with `core`)."""
    if core is not None:
        return core.decode(structure, [int(w, 16) if isinstance(w, str) else w for w in words])
    return json.loads(_smmu_sim(["decode", structure] + ["%#x" % w if isinstance(w, int) else w for w in words]).stdout)


def translate(configs, device, iova, ssid=None, write=False, sets=(), cwd=None):
    """`smmu-sim translate`: one cold translation. Returns (translated, steps as text)."""
    args = ["translate"] + _config_args(configs, sets) + ["--device", device, "--iova", "%#x" % iova]
    if ssid is not None:
        args += ["--ssid", str(ssid)]
    if write:
        args.append("--write")
    p = _smmu_sim(args, ok=(0, 1), cwd=cwd)
    return p.returncode == 0, p.stdout


def table(rows):
    """A list of dicts as a pandas DataFrame when pandas is installed, else as it is."""
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


def _csv_rows(path):
    def cell(v):
        try:
            return float(v) if v != "-" else None
        except ValueError:
            return v
    with open(path, newline="") as f:
        return [{k: cell(v) for k, v in row.items()} for row in csv.DictReader(f)]


def sweep(configs, vary, trace=None, metrics=(), sets=(), jobs=None, emit=None, cwd=None):
    """`smmu-sim sweep`: `vary` maps each config key to its values. Returns the table (one row per
    combination, "-" as None); with `emit=DIR`, writes the jobs (README, "Sweeps on a cluster")
    and returns None."""
    args = ["sweep"] + _config_args(configs, sets)
    for key, values in vary.items():
        args += ["--vary", "%s=%s" % (key, ",".join(str(v) for v in values))]
    for m in metrics:
        args += ["--metric", m]
    if trace:
        args += ["--trace", trace]
    if jobs:
        args += ["--jobs", str(jobs)]
    if emit:
        _smmu_sim(args + ["--emit", emit], cwd=cwd)
        return None
    with tempfile.TemporaryDirectory(prefix="smmusim-") as tmp:
        out = os.path.join(tmp, "sweep.csv")
        _smmu_sim(args + ["--csv", out], cwd=cwd)
        return table(_csv_rows(out))


def collect(directory, metrics=(), cwd=None):
    """`smmu-sim collect`: the table of the jobs `sweep(..., emit=DIR)` wrote."""
    with tempfile.TemporaryDirectory(prefix="smmusim-") as tmp:
        out = os.path.join(tmp, "collect.csv")
        args = ["collect", directory, "--csv", out]
        for m in metrics:
            args += ["--metric", m]
        _smmu_sim(args, cwd=cwd)
        return table(_csv_rows(out))


def latency_histogram(stats, device=None):
    """A run's latency histogram (all traffic, or one device's) as rows {latency_ns, transactions}."""
    latency = stats["latency_ns"] if device is None else stats["devices"][device]["latency_ns"]
    return table([{"latency_ns": float(ns), "transactions": n} for ns, n in latency["histogram"].items()])
