"""Per-pass cost on synthetic graphs of 1k, 10k and 100k ops and on zoo models.

    python -m benchmarks.pass_cost [--sizes 1000,10000,100000] [--zoo resnet18_v1,mobilenetv2_1.0] [--limit 15]

Every pass runs in the canonical order through the driver (compiler.driver.api.run_passes). The synthetic graph
(benchmarks/synthetic.py) gives every pass work, with the options and target that make all of them run. The
baseline, measured in the same run on the same graph, is one walk over every op and value (the least any pass must
do); the table prints each pass's time, its cost per op, its ratio to that walk, and the time ratio between the two
largest synthetic sizes: a linear pass grows by about the size ratio (10 from 10k to 100k), a quadratic one by its
square. Exit status 1 when a pass grows by more than --limit, or when a pass had nothing to do on the synthetic
graph (its time would then prove nothing).
"""
from __future__ import annotations

import argparse
import time

from benchmarks import synthetic
from compiler.driver.api import run_passes
from compiler.options import Options


def _walk_seconds(graph) -> float:
    start = time.perf_counter()
    count = 0
    for op in graph:
        count += len(op.operands) + len(op.results)
    return time.perf_counter() - start


def measure(build, target: str, options: Options, repeats: int = 3):
    """Best of `repeats` runs of the pipeline, each on a freshly built graph: (seconds by pass, ops, walk seconds,
    rewrites by pass)."""
    best: dict[str, float] = {}
    rewrites: dict[str, int] = {}
    baseline = float("inf")
    for _ in range(repeats):
        graph = build()
        ops = len(graph)
        baseline = min(baseline, *(_walk_seconds(graph) for _ in range(3)))
        for r in run_passes(graph, target, options)[0].records:
            best[r.name] = min(best.get(r.name, float("inf")), r.seconds)
            rewrites[r.name] = r.rewrites
    return best, ops, baseline, rewrites


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--zoo", default="resnet18_v1,mobilenetv2_1.0", help="zoo models ('' for none)")
    parser.add_argument("--limit", type=float, default=15.0,
                        help="largest allowed time ratio of a pass between the two largest sizes (default 15)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    results = {}
    for size in sizes:
        results[f"synthetic {size}"] = measure(lambda size=size: synthetic.conv_bn_chain(size), synthetic.TARGET,
                                               synthetic.OPTIONS)
    for name in [n for n in args.zoo.split(",") if n]:
        import mxnet as mx

        from compiler.driver.api import import_model
        from compiler.driver.families import default_input_shape
        from compiler.driver.zoo import get_zoo_model

        net = get_zoo_model(name)
        net.initialize(mx.init.Xavier())
        results[name] = measure(lambda net=net, name=name: import_model(net, default_input_shape(name)), "caffe",
                                Options())

    names = list(next(iter(results.values()))[0])
    print(f"{'pass':<26}" + "".join(f"{label:>30}" for label in results))
    print(f"{'':<26}" + "".join(f"{'ms   µs/op   ×walk':>30}" for _ in results))
    for name in names:
        row = f"{name:<26}"
        for seconds, ops, baseline, _ in results.values():
            s = seconds[name]
            row += f"{s * 1e3:>12.2f}{s / ops * 1e6:>9.2f}{s / baseline:>9.1f}"
        print(row)
    row = f"{'(walk baseline)':<26}"
    for _, ops, baseline, _ in results.values():
        row += f"{baseline * 1e3:>12.2f}{baseline / ops * 1e6:>9.2f}{1.0:>9.1f}"
    print(row)
    failed = False
    synthetic_runs = [k for k in results if k.startswith("synthetic")]
    idle = sorted({name for k in synthetic_runs for name, n in results[k][3].items() if n == 0})
    if idle:
        print(f"\nthe synthetic graph left these passes with nothing to do: {', '.join(idle)}")
        failed = True
    if len(synthetic_runs) >= 2:
        small, large = synthetic_runs[-2], synthetic_runs[-1]
        growth = results[large][1] / results[small][1]
        print(f"\ntime ratio {large} / {small} (ops ratio {growth:.1f}; linear ≈ {growth:.0f}, limit {args.limit:g}):")
        worst_name, worst = None, 0.0
        for name in names:
            ratio = results[large][0][name] / max(results[small][0][name], 1e-9)
            if ratio > worst:
                worst_name, worst = name, ratio
            print(f"  {name:<26}{ratio:>8.1f}")
        print(f"  {'(walk baseline)':<26}{results[large][2] / results[small][2]:>8.1f}")
        verdict = "linear" if worst <= args.limit else f"SUPER-LINEAR ({worst_name})"
        print(f"worst pass ratio {worst:.1f}: {verdict}")
        failed = failed or worst > args.limit
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
