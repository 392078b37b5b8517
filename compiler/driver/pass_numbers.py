"""`--check-numbers`: the NumPy interpreter (compiler/ir/interpreter.py) runs the graph before the
first pass and again after every pass, on the same seeded input — given to each graph as the input contract of that
moment takes it (reversed channels, NHWC, raw pixels) — so a rewrite that changes what the model computes is named
by its pass, before any layer or runtime is involved. A pass that reports no rewrite and no op added or removed is
not run again, except the last, whose comparison also catches a change a pass did not count.

Numbers stop being compared, with the reason in the report's warnings, after a pass that approximates on purpose
(an option asked for it), after one that changes the outputs themselves (a detector's decoder becomes
DetectionOutput), or at an op the interpreter cannot compute."""
from __future__ import annotations

import attrs
import numpy as np

from compiler.errors import PassFailed
from compiler.ir.graph import Graph
from compiler.ir.interpreter import NoReference, run_graph

TOLERANCE = 1e-4   # of each output's largest value, as every verification


@attrs.define
class PassNumbers:
    graph: Graph                     # the graph the passes rewrite in place
    ctx: object                      # their PassContext: its `inputs` are the contracts of the moment
    inputs: dict[str, np.ndarray]    # the MXNet-side input
    expected: list[np.ndarray] | None = None
    stopped: str | None = None       # why numbers are no longer compared
    reported: bool = False
    last_pass: str | None = None     # the pipeline's last pass: its numbers are always compared

    @classmethod
    def start(cls, graph: Graph, ctx, last_pass: str | None, seed: int = 0) -> "PassNumbers":
        rng = np.random.RandomState(seed)
        inputs = {v.name: rng.standard_normal(v.type.shape).astype(np.float32) for v in graph.inputs}
        check = cls(graph, ctx, inputs, last_pass=last_pass)
        check.expected = check._run("the frontend")
        return check

    def _run(self, where: str) -> list[np.ndarray] | None:
        contracts = self.ctx.inputs
        given = {name: contracts[name].caffe_input(contracts[name].raw_for(array)) if name in contracts else array
                 for name, array in self.inputs.items()}
        try:
            return run_graph(self.graph, **given)
        except NoReference as exc:
            self._stop(f"after {where}: {exc}")
            return None

    def _stop(self, reason: str) -> None:
        self.stopped = reason

    def after(self, record) -> None:
        """Compare the outputs after the pass of `record` (a PassRecord) with those before the first pass; when
        they stop being comparable, say so once among the pass's warnings."""
        if self.stopped is None:
            self._compare(record)
        if self.stopped is not None and not self.reported:
            self.reported = True
            record.warnings.append(("-", f"--check-numbers compared numbers up to here, no further: {self.stopped}"))

    def _compare(self, record) -> None:
        if not (record.rewrites or record.removed or record.added or record.name == self.last_pass):
            return   # the pass changed nothing (the last pass compares anyway: a change a pass did not count shows)
        if record.approximations:
            return self._stop(f"pass {record.name} approximates ({record.approximations[0][1]}) as the options ask")
        shapes = [tuple(v.type.shape) for v in self.graph.outputs]
        if shapes != [a.shape for a in self.expected]:
            return self._stop(f"pass {record.name} changed the outputs to {shapes}")
        got = self._run(f"pass {record.name}")
        if got is None:
            return
        for value, before, now in zip(self.graph.outputs, self.expected, got):
            error = relative_difference(before, now)
            if not error <= TOLERANCE:
                raise PassFailed(f"pass {record.name} changed the numbers: output {value.name} differs from the "
                                 f"frontend's by {error:.2e} of its largest value (tolerance {TOLERANCE:g}) on a "
                                 "seeded input", hint="this is a converter bug; please report it with the model "
                                                      "(--dump-ir DIR shows the IR after every pass)")


def relative_difference(before: np.ndarray, now: np.ndarray) -> float:
    """max |now − before| / max |before|, where a NaN or infinity in the same place on both sides is equal (an op
    such as a log of a negative value gives NaN in MXNet too) and in one place only is an infinite difference."""
    before, now = np.asarray(before, np.float64), np.asarray(now, np.float64)
    same = (before == now) | (np.isnan(before) & np.isnan(now))
    finite = np.isfinite(before)
    scale = max(float(np.abs(before[finite]).max(initial=0.0)), 1e-30)
    if not (same | (finite & np.isfinite(now))).all():
        return float("inf")
    return float(np.abs(np.where(same, 0.0, now - before)).max(initial=0.0)) / scale
