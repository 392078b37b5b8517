"""Per-pass cost on synthetic graphs of 1k, 10k and 100k ops and on zoo models.

    python -m benchmarks.pass_cost [--sizes 1000,10000,100000] [--zoo resnet18_v1,mobilenetv2_1.0]

Every pass runs in the caffe target's pipeline order. The baseline, measured in the same run on the same graph,
is one walk over every op and value (the least any pass must do); the table prints each pass's time, its cost
per op, its ratio to that walk, and the time ratio between the two largest sizes: a linear pass grows by about
the size ratio (10 from 10k to 100k), a quadratic one by its square.
"""
from __future__ import annotations

import argparse
import time

from backends import get_target
from benchmarks.synthetic import conv_bn_chain
from compiler.options import Options
from passes import PassContext, pipeline


def _walk_seconds(graph) -> float:
    start = time.perf_counter()
    count = 0
    for op in graph:
        count += len(op.operands) + len(op.results)
    return time.perf_counter() - start


def measure(build, target: str = "caffe", repeats: int = 3) -> tuple[dict[str, float], int, float]:
    """Best of `repeats` runs of the target's pipeline, each on a freshly built graph."""
    chosen = get_target(target)
    best: dict[str, float] = {}
    baseline = float("inf")
    for _ in range(repeats):
        graph = build()
        ops = len(graph)
        baseline = min(baseline, *(_walk_seconds(graph) for _ in range(3)))
        ctx = PassContext(options=Options(), policy=chosen.policy, layers=chosen.layers)
        report = pipeline(chosen.pipeline).run(graph, ctx)
        for r in report.records:
            best[r.name] = min(best.get(r.name, float("inf")), r.seconds)
    return best, ops, baseline


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--zoo", default="resnet18_v1,mobilenetv2_1.0", help="zoo models ('' for none)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    results = {}
    for size in sizes:
        results[f"synthetic {size}"] = measure(lambda size=size: conv_bn_chain(size))
    for name in [n for n in args.zoo.split(",") if n]:
        from compiler.api import import_model
        from compiler.zoo import default_input_shape, get_zoo_model

        import mxnet as mx

        net = get_zoo_model(name)
        net.initialize(mx.init.Xavier())
        results[name] = measure(lambda net=net, name=name: import_model(net, default_input_shape(name)))

    names = list(next(iter(results.values()))[0])
    header = f"{'pass':<26}" + "".join(f"{label:>30}" for label in results)
    print(header)
    print(f"{'':<26}" + "".join(f"{'ms   µs/op   ×walk':>30}" for _ in results))
    for name in names:
        row = f"{name:<26}"
        for seconds, ops, baseline in results.values():
            s = seconds[name]
            row += f"{s * 1e3:>12.2f}{s / ops * 1e6:>9.2f}{s / baseline:>9.1f}"
        print(row)
    row = f"{'(walk baseline)':<26}"
    for _, ops, baseline in results.values():
        row += f"{baseline * 1e3:>12.2f}{baseline / ops * 1e6:>9.2f}{1.0:>9.1f}"
    print(row)
    synthetic = [k for k in results if k.startswith("synthetic")]
    if len(synthetic) >= 2:
        small, large = synthetic[-2], synthetic[-1]
        growth = results[large][1] / results[small][1]
        print(f"\ntime ratio {large} / {small} (ops ratio {growth:.1f}; linear ≈ {growth:.0f}, limit 15):")
        worst = 0.0
        for name in names:
            ratio = results[large][0][name] / max(results[small][0][name], 1e-9)
            worst = max(worst, ratio)
            print(f"  {name:<26}{ratio:>8.1f}")
        print(f"  {'(walk baseline)':<26}{results[large][2] / results[small][2]:>8.1f}")
        print(f"worst pass ratio {worst:.1f}: {'linear' if worst <= 15 else 'SUPER-LINEAR'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
