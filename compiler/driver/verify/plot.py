"""The per-layer divergence figure: relative error of every compared blob in network order, the tolerance, the first
blob over it, and the outputs' final errors (matplotlib, headless)."""
from __future__ import annotations

import attrs

FLOOR = 1e-12          # a blob equal to MXNet's to the last bit is drawn here on the log axis
MAX_LABELS = 40        # x labels kept readable on a 500-layer net


@attrs.frozen
class DivergencePlot:
    """What the figure shows, so that a caller (or a test) can read it without reading pixels."""
    path: str
    tolerance: float
    series: dict            # runtime -> [(layer, relative)] in network order
    marked: dict            # runtime -> the first LayerComparison over tolerance, or None
    outputs: dict           # runtime -> [(layer, relative)] of the graph outputs


def _label_positions(count: int) -> list[int]:
    step = max(1, -(-count // MAX_LABELS))
    return list(range(0, count, step))


def plot_per_layer(results_by_runtime: dict, path: str, output_layers=(), title: str = "") -> DivergencePlot:
    """Draw the per-layer comparison of each runtime (compiler.driver.verify.per_layer.compare_layers results) into
    one PNG at `path`; returns what was drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    runtimes = list(results_by_runtime)
    first_results = results_by_runtime[runtimes[0]] if runtimes else []
    tolerance = first_results[0].tolerance if first_results else 1e-4
    count = len(first_results)
    figure, axes = plt.subplots(figsize=(min(18.0, 6.0 + count * 0.03), 6.5))
    series, marked, outputs = {}, {}, {}
    for runtime, results in results_by_runtime.items():
        values = [max(r.relative, FLOOR) for r in results]
        series[runtime] = [(r.layer, r.relative) for r in results]
        axes.plot(range(len(values)), values, marker=".", markersize=3, linewidth=0.8, label=runtime)
        index_of = {r.layer: i for i, r in enumerate(results)}
        outputs[runtime] = [(r.layer, r.relative) for r in results if r.layer in set(output_layers)]
        axes.scatter([index_of[layer] for layer, _ in outputs[runtime]],
                     [max(relative, FLOOR) for _, relative in outputs[runtime]], marker="s", s=40, zorder=3,
                     color="black", label="graph output" if runtime == runtimes[0] else None)
        marked[runtime] = next((r for r in results if not r.ok), None)   # the first over tolerance
    # One label per distinct first divergence (the runtimes usually agree), in a box away from the curve.
    firsts: dict = {}
    for runtime, first in marked.items():
        if first is not None:
            firsts.setdefault(first.layer, []).append((runtime, first))
    for slot, found in enumerate(firsts.values()):
        runtime_names = ", ".join(runtime for runtime, _ in found)
        first = found[0][1]
        index = results_by_runtime[found[0][0]].index(first)
        axes.scatter([index], [max(first.relative, FLOOR)], marker="o", s=140, facecolors="none", edgecolors="red",
                     linewidths=2, zorder=4)
        axes.annotate(f"first over tolerance ({runtime_names}): layer {first.layer} ({first.layer_type})\n"
                      f"op {first.op[:70]}\nMXNet node {first.origin}; relative {first.relative:.1e}",
                      (index, max(first.relative, FLOOR)), xytext=(0.35, 0.06 + 0.13 * slot),
                      textcoords="axes fraction", fontsize=8, color="darkred",
                      bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "darkred"},
                      arrowprops={"arrowstyle": "->", "color": "darkred"})
    final = [f"{layer} ({runtime}): {relative:.1e}" for runtime, pairs in outputs.items() for layer, relative in pairs]
    if final:
        axes.text(0.99, 0.02 if not firsts else 0.98, "final output errors\n" + "\n".join(final[:8]),
                  transform=axes.transAxes, ha="right", va="bottom" if not firsts else "top", fontsize=7,
                  bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "gray"})
    axes.axhline(tolerance, color="gray", linestyle="--", linewidth=1, label=f"tolerance {tolerance:g}")
    axes.set_yscale("log")
    axes.set_ylabel("relative error  max|caffe − mxnet| / max|mxnet|")
    axes.set_xlabel(f"compared blobs in network order ({count}; values of 0 drawn at {FLOOR:g})")
    positions = _label_positions(count)
    axes.set_xticks(positions)
    axes.set_xticklabels([first_results[i].layer[-28:] for i in positions], rotation=90, fontsize=6)
    axes.set_title(title or "per-layer divergence")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return DivergencePlot(path, tolerance, series, marked, outputs)
