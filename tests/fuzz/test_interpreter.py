"""The reference interpreter against MXNet, and every target's pipeline against the reference: random graphs are
imported, run op by op in NumPy (compiler/ir/interpreter.py) and compared with MXNet's outputs; then each target's
passes run and the IR they leave (before any Caffe layer exists) must compute the same numbers. A pass that changes
what the graph computes fails here without a Caffe runtime.

GLUON2CAFFE_INTERPRETER_EXAMPLES graphs (default 300) from a fixed seed."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import target_names
from compiler.frontend.symbol import import_symbol
from compiler.ir.interpreter import run_graph
from compiler.options import Options
from tests.fuzz.graphs import small_graphs
from tests.helpers import mxnet_outputs, random_params

EXAMPLES = int(os.environ.get("GLUON2CAFFE_INTERPRETER_EXAMPLES", "300"))
TOLERANCE = 1e-4


def _close(reference, actual, what: str) -> None:
    reference, actual = np.asarray(reference, np.float64), np.asarray(actual, np.float64)
    assert actual.shape == reference.shape, f"{what}: shape {actual.shape}, expected {reference.shape}"
    scale = max(float(np.abs(reference).max()), 1e-6)
    error = float(np.abs(actual - reference).max()) / scale
    assert error <= TOLERANCE, f"{what}: relative error {error:.2e}"


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(small_graphs())
def test_the_interpreter_and_every_pipeline_compute_what_mxnet_computes(graph):
    from compiler.driver.api import run_passes

    symbol, shapes, _, _ = graph
    params = random_params(symbol, shapes)
    data = np.random.RandomState(1).standard_normal(shapes["data"]).astype(np.float32)
    expected = mxnet_outputs(symbol, params, {"data": data})
    for got, want in zip(run_graph(import_symbol(symbol, params, shapes), data), expected):
        _close(want, got, "frontend IR")
    for target in target_names():
        for options in (Options(), Options(merge_bn=False, relu6="approx")):
            lowered = import_symbol(symbol, params, shapes)
            report, _ = run_passes(lowered, target, options)
            if not report.exact:
                continue   # an approximation chosen by an option computes other numbers on purpose
            for got, want in zip(run_graph(lowered, data), expected):
                _close(want, got, f"{target} IR after the passes")
