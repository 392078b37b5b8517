"""Differential fuzzing: random small MXNet graphs, converted for every target that can express them, run in
OpenCV (and pycaffe for the caffe target where it is built) and compared with MXNet.

CI runs GLUON2CAFFE_FUZZ_EXAMPLES graphs (default 300) from a fixed seed; raise it for longer runs on demand:
    GLUON2CAFFE_FUZZ_EXAMPLES=3000 python -m pytest tests/fuzz -q
Every failure it finds becomes a named test in test_regressions.py."""
import collections
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings

pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from backends import target_names
from compiler.errors import IllegalForTarget, UnsupportedOp
from compiler.options import Options
from tests.fuzz.graphs import small_graphs
from tests.helpers import convert_and_compare, random_params, runtimes_for

EXAMPLES = int(os.environ.get("GLUON2CAFFE_FUZZ_EXAMPLES", "300"))
TARGETS = tuple(target_names())   # every target, rknn's exact rewrites included
TALLY = collections.Counter()


def check_graph(symbol, shapes, seed: int = 0, options: Options | None = None, refusals=None) -> list[str]:
    """Convert for every target; return the targets that expressed it (each verified), or raise on a mismatch.
    A documented refusal is not a failure: an op a target lacks, or to_bgr where the reversed channels would reach
    an op that mixes them (or an output)."""
    params = random_params(symbol, shapes, seed)
    converted = []
    for target in TARGETS:
        # every reference runtime for caffe; each other target's first (OpenCV; ncnn for ncnn-native)
        runtimes = runtimes_for(target) if target == "caffe" else runtimes_for(target)[:1]
        with tempfile.TemporaryDirectory() as directory:
            try:
                # A random graph may legitimately output zeros (clip to [0, .5] then to [-1, 0]); then the
                # difference itself must be within tolerance.
                # Fuzzed options normalise with extreme mean/std ((x − 104) / 0.5 puts the data near −207 ± 1):
                # MXNet's float32 mean and variance there lose ~1e-5 (InstanceNorm), where the interpreter computes
                # in float64, so the interpreter is held to the runtimes' tolerance here.
                convert_and_compare(symbol, params, shapes, directory, target=target, runtimes=runtimes,
                                    allow_zero_reference=True, options=options, interpreter_tolerance=1e-4)
            except IllegalForTarget as exc:
                if refusals is not None:
                    refusals.append(str(exc).splitlines()[1].split(": ", 1)[-1].split(" (")[0][:60])
                continue
            except UnsupportedOp as exc:
                if exc.attribute != "to_bgr":
                    raise
                if refusals is not None:
                    refusals.append("to_bgr")
                continue
        converted.append(target)
    return converted


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(small_graphs())
def test_random_graphs_match_mxnet(graph):
    symbol, shapes, used, options = graph
    refusals: list[str] = []
    converted = check_graph(symbol, shapes, options=options, refusals=refusals)
    TALLY["graphs"] += 1
    TALLY["converted"] += bool(converted)
    if not converted:
        TALLY["refused:to_bgr" if "to_bgr" in refusals else "refused:other"] += 1
        if "to_bgr" not in refusals:
            TALLY[f"why:{refusals[0]}"] += 1
    TALLY.update(f"op:{kind}" for kind in used)
    TALLY.update(f"target:{t}" for t in converted)
    if converted:
        TALLY.update(f"option:{name}" for name, on in (
            ("to_bgr", options.to_bgr and shapes["data"][1] == 3), ("no_merge_bn", not options.merge_bn),
            ("relu6_approx", options.relu6 == "approx"), ("std", options.std is not None),
            ("mean", options.mean is not None), ("input_scale", options.input_scale is not None)) if on)


def test_fuzz_tally_is_reported(capsys):
    """Prints how many graphs ran and the op mix (the README quotes a run of it)."""
    if not TALLY:
        test_random_graphs_match_mxnet()
    with capsys.disabled():
        print("\nfuzz tally:", dict(sorted(TALLY.items())))
    # Refusing to_bgr is expected whenever the reversed channels reach the output; any other refusal is an op
    # mix no target can express (the tally's why: entries), which should stay rare.
    assert TALLY["graphs"] >= min(EXAMPLES, 300) and TALLY["refused:other"] <= 0.15 * TALLY["graphs"]
    assert all(TALLY[f"option:{name}"] > 0 for name in ("to_bgr", "no_merge_bn", "relu6_approx", "std", "mean",
                                                         "input_scale"))
