"""The two frontends of exported files side by side: our readers (no MXNet) and the MXNet path (MXNet reads the
symbol and the params, and its shape inference checks every value).

    python -m benchmarks.frontend_paths [--synthetic 10000,100000] [--processes 3] [--runs 3]
                                        [--cli-model resnet50_v1] [--cli-runs 5]
                                        [--us-per-op-limit 30] [--growth-limit 12]
                                        [--cli-seconds-limit 1.0] [--cli-save-limit 3]

1. Frontend on synthetic symbols (units of Convolution → BatchNorm → relu → add, written as symbol JSON and a params
   file): the frontend — symbol text and parameters already in memory to the IR, the quantity the MXNet frontend
   was measured by (106–139 µs/op) — and the whole files path (`import_files`: both files read too), each path in
   --processes new processes (the median of each one's median of --runs runs: a long-lived process grows slower
   after large graphs were freed, which is the benchmark's history, not the frontend's cost). The frontend's clock
   stops with the IR built and still held; "gc scan" is reported beside it: when the frontend's pause of the
   cyclic collector ends, CPython scans every object made meanwhile once (about 12 per op), an O(n) walk whose
   cost per object rises about fourfold once the graph no longer fits the CPU's cache (docs/performance.md); the
   files path includes it. Freeing the IR is not timed (the old measurement dropped the graph inside the clock).
   Limits on the MXNet-free frontend: µs per op at the larger size, and the growth from the smaller to the larger
   size (10 would be exactly linear).
2. A whole CLI run, cold: `gluon2caffe convert MODEL-symbol.json --params … -o …` as a new process (`python -m
   compiler.driver.cli`), no --verify, median of --cli-runs; the MXNet path is the same command with MXNet's check
   on (GLUON2CAFFE_CHECK_MXNET=1). The files are exported from the zoo with seeded random weights (MXNet needed) or
   given with --exported PREFIX. Then the same conversion inside this process (`compile_model(files).save`, median
   of --cli-runs after one untimed run), against np.save of the same weights (the arrays of its params file, into
   the same directory, median of 5). Limits on the MXNet-free path: the new process's seconds, and the conversion's
   time inside the process / np.save.

Where MXNet is not installed the MXNet path is reported as such. Exit status 1 when a figure exceeds its limit.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = ("no MXNet", "MXNet")
SHAPE = {"data": (1, 4, 4, 4)}   # the synthetic graphs' input


def write_synthetic_files(ops: int, directory: str, channels: int = 4, seed: int = 0) -> tuple[str, str]:
    """Exported files of about `ops` ops: (PREFIX-symbol.json, PREFIX-0000.params), as HybridBlock.export lays
    them out."""
    from tests.params_files import save_params

    rng = np.random.RandomState(seed)
    nodes = [{"op": "null", "name": "data", "inputs": []}]
    params = {}

    def add(op: str, name: str, inputs: list[int], **attrs) -> int:
        nodes.append({"op": op, "name": name, "attrs": {k: str(v) for k, v in attrs.items()},
                      "inputs": [[i, 0, 0] for i in inputs]})
        return len(nodes) - 1

    def variable(name: str, value: np.ndarray) -> int:
        params[name] = value
        return add("null", name, [])

    x = 0
    for unit in range(max(1, ops // 4)):
        name = f"u{unit}"
        weight = variable(f"{name}_conv_weight", rng.standard_normal((channels, channels, 1, 1)).astype(np.float32))
        y = add("Convolution", f"{name}_conv", [x, weight], kernel=(1, 1), num_filter=channels, no_bias=True)
        stats = [variable(f"{name}_bn_{stat}", np.full(channels, value, np.float32))
                 for stat, value in (("gamma", 1.0), ("beta", 0.0), ("moving_mean", 0.0), ("moving_var", 1.0))]
        y = add("BatchNorm", f"{name}_bn", [y, *stats], fix_gamma=False)
        y = add("Activation", f"{name}_relu", [y], act_type="relu")
        x = add("elemwise_add", f"{name}_add", [x, y])
    for node in nodes:
        if node["op"] == "null":
            node.pop("attrs", None)
    document = {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"],
                "heads": [[x, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}
    prefix = os.path.join(directory, f"synthetic{ops}")
    with open(prefix + "-symbol.json", "w", encoding="utf-8") as f:
        json.dump(document, f)
    save_params(prefix + "-0000.params", params)
    return prefix + "-symbol.json", prefix + "-0000.params"


def _mxnet_installed() -> bool:
    from compiler.frontend.mxnet_check import mxnet_available

    return mxnet_available()


def _frontend(text: str, params: dict, path: str):
    """The symbol text and in-memory parameters to the IR: our reader and shape rules, or MXNet's reading with its
    shape inference checking every value."""
    from compiler.frontend.mxnet_check import MXNetView, mxnet_document
    from compiler.frontend.symbol import import_document, load_symbol_json

    if path == "MXNet":
        return import_document(mxnet_document(text), params, SHAPE, check=lambda: MXNetView.of(text, SHAPE))
    return import_document(load_symbol_json(text), params, SHAPE)


def _child(argv: list[str]) -> None:
    """One process's medians of `runs` runs of the frontend and of the whole files path (argv: symbol, params,
    path, runs)."""
    from compiler.frontend import import_files, load_params
    from compiler.frontend.mxnet_check import mxnet_params
    from compiler.ir.cycles import cyclic_gc_paused

    symbol, params_path, path, runs = argv[0], argv[1], argv[2], int(argv[3])
    with open(symbol, encoding="utf-8") as f:
        text = f.read()
    params = mxnet_params(params_path) if path == "MXNet" else load_params(params_path)
    times = {"frontend": [], "collector": [], "files": []}
    for _ in range(runs):
        gc.collect()   # the previous run's graph is garbage with cycles: collecting it is not this run's cost
        with cyclic_gc_paused():   # as import_files runs
            start = time.perf_counter()
            graph = _frontend(text, params, path)
            built = time.perf_counter()
        # The pause ends: CPython's collector scans every object the frontend made, once, as young objects.
        scanned = time.perf_counter()
        times["frontend"].append(built - start)
        times["collector"].append(scanned - built)
        del graph   # freeing the IR is its user's business, after the clock
        gc.collect()
        start = time.perf_counter()
        import_files(symbol, params_path, SHAPE["data"], check_mxnet=False, mxnet_reader=path == "MXNet")
        times["files"].append(time.perf_counter() - start)
    print(json.dumps({what: statistics.median(values) for what, values in times.items()}))


def measure_frontend(symbol: str, params: str, path: str, runs: int, processes: int) -> dict[str, float]:
    """{"frontend": s, "collector": s, "files": s}: medians over `processes` new processes of each one's median."""
    results = []
    for _ in range(processes):
        done = subprocess.run([sys.executable, "-m", "benchmarks.frontend_paths", "--child", symbol, params, path,
                               str(runs)], capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the {path} frontend on {symbol} failed:\n{done.stderr[-2000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {what: statistics.median(r[what] for r in results) for what in results[0]}


def export_zoo_model(name: str, directory: str) -> str:
    """PREFIX of `name` exported with seeded random weights (needs MXNet and GluonCV)."""
    from compiler.driver.zoo import export_block, random_zoo_model

    prefix = os.path.join(directory, name)
    export_block(random_zoo_model(name, 0, (1, 3, 224, 224)), (1, 3, 224, 224), prefix)
    return prefix


def time_cli(prefix: str, path: str, runs: int, directory: str) -> float:
    """Median seconds of the whole CLI conversion in a new process."""
    from compiler.frontend.mxnet_check import CHECK_ENVIRONMENT

    env = {**os.environ, CHECK_ENVIRONMENT: "1" if path == "MXNet" else "0"}
    command = [sys.executable, "-m", "compiler.driver.cli", "convert", prefix + "-symbol.json", "--params",
               prefix + "-0000.params", "--input-shape", "1,3,224,224", "-o", os.path.join(directory, "out")]
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
        seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"the CLI failed on {prefix}:\n{done.stderr[-2000:]}")
    return statistics.median(seconds)


def time_in_process(prefix: str, path: str, runs: int, directory: str) -> float:
    """Median seconds of `compile_model(files).save(...)` in this process (after one untimed run: imports)."""
    from compiler.frontend.mxnet_check import CHECK_ENVIRONMENT

    out = os.path.join(directory, "in_process")
    seconds = []
    # The MXNet-free path must not check against MXNet (the MXNet path checks: it reads through MXNet); the
    # caller's setting comes back afterwards.
    saved = os.environ.pop(CHECK_ENVIRONMENT, None)
    try:
        for _ in range(runs + 1):
            seconds.append(_convert_once(prefix, path, out))
    finally:
        if saved is not None:
            os.environ[CHECK_ENVIRONMENT] = saved
    return statistics.median(seconds[1:])


def _convert_once(prefix: str, path: str, out: str) -> float:
    from compiler.driver.api import compile_model
    from compiler.driver.sources import SymbolFiles

    for suffix in (".prototxt", ".caffemodel"):   # a new file each time, as np.save's
        if os.path.exists(out + suffix):
            os.unlink(out + suffix)
    start = time.perf_counter()
    source = SymbolFiles(prefix + "-symbol.json", prefix + "-0000.params", mxnet_reader=path == "MXNet")
    compile_model(source, (1, 3, 224, 224)).save(out)
    return time.perf_counter() - start


def time_np_save(params_path: str, directory: str, runs: int = 5) -> float:
    """Median seconds of np.save of every array of the params file into one new file."""
    from compiler.frontend.params import load_params

    arrays = [np.array(a) for a in load_params(params_path).values()]
    path = os.path.join(directory, "baseline.npy")
    seconds = []
    for _ in range(runs + 1):   # the first, untimed: a first large write finds fresh pages
        start = time.perf_counter()
        with open(path, "wb") as f:
            for array in arrays:
                np.save(f, array)
        seconds.append(time.perf_counter() - start)
        os.unlink(path)
    return statistics.median(seconds[1:])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", default="10000,100000", help="graph sizes in ops ('' for none)")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cli-model", default="resnet50_v1", help="zoo model exported for the CLI run ('' for none)")
    parser.add_argument("--exported", metavar="PREFIX", help="use PREFIX-symbol.json/-0000.params instead")
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--us-per-op-limit", type=float, default=30.0)
    parser.add_argument("--growth-limit", type=float, default=12.0)
    parser.add_argument("--cli-seconds-limit", type=float, default=1.0)
    parser.add_argument("--cli-save-limit", type=float, default=3.0)
    args = parser.parse_args(argv)
    paths = PATHS if _mxnet_installed() else PATHS[:1]
    failures = []
    directory_root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=directory_root) as directory:
        sizes = sorted(int(s) for s in args.synthetic.split(",") if s)
        if sizes:
            print(f"frontend on synthetic symbols, symbol text and in-memory parameters to the IR, and the whole "
                  f"files path (reading both files too); median of {args.processes} processes × {args.runs} runs:")
            print(f"  {'ops':>7}  " + "  ".join(f"{p + ' frontend':>17} {'µs/op':>6} {'gc scan':>8} {'files s':>8} "
                                               f"{'µs/op':>6}" for p in paths))
            times = {}
            for size in sizes:
                symbol, params = write_synthetic_files(size, directory)
                times[size] = {p: measure_frontend(symbol, params, p, args.runs, args.processes) for p in paths}
                print(f"  {size:>7}  " + "  ".join(
                    f"{times[size][p]['frontend']:>15.3f} s {times[size][p]['frontend'] / size * 1e6:>6.1f} "
                    f"{times[size][p]['collector']:>8.3f} {times[size][p]['files']:>8.3f} {times[size][p]['files'] / size * 1e6:>6.1f}" for p in paths))
            largest = sizes[-1]
            per_op = times[largest]["no MXNet"]["frontend"] / largest * 1e6
            if per_op > args.us_per_op_limit:
                failures.append(f"the frontend takes {per_op:.1f} µs/op at {largest} ops (limit "
                                f"{args.us_per_op_limit:g})")
            if len(sizes) >= 2:
                small = sizes[-2]
                growth = {p: times[largest][p]["frontend"] / times[small][p]["frontend"] for p in paths}
                print(f"  {small} → {largest} ops: frontend " + ", ".join(f"{p} {g:.1f}×" for p, g in growth.items())
                      + f" the time ({largest / small:g}× the ops)")
                if growth["no MXNet"] > args.growth_limit:
                    failures.append(f"the frontend grows {growth['no MXNet']:.1f}× (limit {args.growth_limit:g})")
        prefix = args.exported
        if prefix is None and args.cli_model:
            if _mxnet_installed():
                prefix = export_zoo_model(args.cli_model, directory)
            else:
                print(f"\nCLI run: skipped, exporting {args.cli_model} needs MXNet (give --exported PREFIX)")
        if prefix:
            save = time_np_save(prefix + "-0000.params", directory)
            print(f"\nwhole CLI run, cold, {os.path.basename(prefix)} (median of {args.cli_runs}; np.save of its "
                  f"weights {save:.3f} s):")
            for path in paths:
                seconds = time_cli(prefix, path, args.cli_runs, directory)
                inside = time_in_process(prefix, path, args.cli_runs, directory)
                print(f"  {path:<9} new process {seconds:.3f} s; inside the process {inside:.3f} s = "
                      f"{inside / save:.2f}× np.save")
                if path == "no MXNet":
                    if seconds > args.cli_seconds_limit:
                        failures.append(f"the CLI takes {seconds:.2f} s (limit {args.cli_seconds_limit:g})")
                    if inside / save > args.cli_save_limit:
                        failures.append(f"the conversion takes {inside / save:.2f}× np.save (limit "
                                        f"{args.cli_save_limit:g})")
    print("\n" + ("FAILED: " + "; ".join(failures) if failures else "every figure within its limit"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
