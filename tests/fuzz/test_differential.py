"""Differential fuzzing: random small MXNet graphs, converted for every target that can express them, run in
OpenCV (and pycaffe for the caffe target where it is built) and compared with MXNet.

CI runs GLUON2CAFFE_FUZZ_EXAMPLES graphs (default 300) from a fixed seed; raise it for longer runs on demand:
    GLUON2CAFFE_FUZZ_EXAMPLES=3000 python -m pytest tests/fuzz -q
Every failure it finds becomes a named test in test_regressions.py."""
import collections
import os
import tempfile

from hypothesis import HealthCheck, given, settings

from compiler.errors import IllegalForTarget
from tests.fuzz.graphs import small_graphs
from tests.helpers import available_runtimes, convert_and_compare, random_params

EXAMPLES = int(os.environ.get("GLUON2CAFFE_FUZZ_EXAMPLES", "300"))
TARGETS = ("caffe", "caffe-ssd", "ncnn")
TALLY = collections.Counter()


def check_graph(symbol, shapes, seed: int = 0) -> list[str]:
    """Convert for every target; return the targets that expressed it (each verified), or raise on a mismatch."""
    params = random_params(symbol, shapes, seed)
    converted = []
    for target in TARGETS:
        runtimes = available_runtimes() if target == "caffe" else ["opencv"]
        with tempfile.TemporaryDirectory() as directory:
            try:
                # A random graph may legitimately output zeros (clip to [0, .5] then to [-1, 0]); then the
                # difference itself must be within tolerance.
                convert_and_compare(symbol, params, shapes, directory, target=target, runtimes=runtimes,
                                    allow_zero_reference=True)
            except IllegalForTarget:
                continue
        converted.append(target)
    return converted


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(small_graphs())
def test_random_graphs_match_mxnet(graph):
    symbol, shapes, used = graph
    converted = check_graph(symbol, shapes)
    TALLY["graphs"] += 1
    TALLY["converted"] += bool(converted)
    TALLY.update(f"op:{kind}" for kind in used)
    TALLY.update(f"target:{t}" for t in converted)


def test_fuzz_tally_is_reported(capsys):
    """Prints how many graphs ran and the op mix (the README quotes a run of it)."""
    if not TALLY:
        test_random_graphs_match_mxnet()
    with capsys.disabled():
        print("\nfuzz tally:", dict(sorted(TALLY.items())))
    assert TALLY["graphs"] >= min(EXAMPLES, 300) and TALLY["converted"] >= 0.8 * TALLY["graphs"]
