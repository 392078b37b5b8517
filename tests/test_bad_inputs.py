"""Every corpus case: its exact message, exit code 2 from the CLI, no traceback and no output files."""
import os
import shutil

import pytest

from compiler.driver.cli import main
from tests.bad_inputs.cases import CASES, HERE, good_params, save_params
from tests.needs import needs_mxnet


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(tmp_path, capsys, case):
    symbol = tmp_path / "model-symbol.json"
    shutil.copy(os.path.join(HERE, case.symbol, "model-symbol.json"), symbol)
    params = good_params()
    if case.edit_params:
        case.edit_params(params)
    save_params(str(tmp_path / "model-0000.params"), params)
    if case.edit_file:
        case.edit_file(str(tmp_path / "model-0000.params"))
    (tmp_path / "out").mkdir()
    before = set(os.listdir(tmp_path / "out"))
    code = main(["convert", str(symbol), "--params", str(tmp_path / "model-0000.params"),
                 "-o", str(tmp_path / case.output), *case.args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gluon2caffe: error: ") and case.message in err, err
    assert "\n" in case.message or err.count("\n") == 1, err   # one line, unless the message lists ops
    assert "Traceback" not in err
    assert set(os.listdir(tmp_path / "out")) == before
    assert not os.path.exists("/tmp/gluon2caffe_owned")


def test_good_model_of_the_corpus_converts(tmp_path, capsys):
    shutil.copy(os.path.join(HERE, "good", "model-symbol.json"), tmp_path / "model-symbol.json")
    save_params(str(tmp_path / "model-0000.params"), good_params())
    assert main(["convert", str(tmp_path / "model-symbol.json"), "--params", str(tmp_path / "model-0000.params"),
                 "--input-shape", "1,3,8,8", "-o", str(tmp_path / "model"), "--verify"]) == 0


def test_debug_prints_the_traceback(tmp_path, capsys):
    shutil.copy(os.path.join(HERE, "unknown_op", "model-symbol.json"), tmp_path / "model-symbol.json")
    save_params(str(tmp_path / "model-0000.params"), good_params())
    code = main(["--debug", "convert", str(tmp_path / "model-symbol.json"), "--params",
                 str(tmp_path / "model-0000.params"), "--input-shape", "1,3,8,8", "-o", str(tmp_path / "m")])
    assert code == 2 and "Traceback" in capsys.readouterr().err


@needs_mxnet
def test_a_block_that_cannot_be_hybridized_is_refused():
    import mxnet as mx

    from compiler.errors import BadModel
    from compiler.frontend import import_block

    class Imperative(mx.gluon.Block):
        def forward(self, x):
            return x * 2

    with pytest.raises(BadModel, match="Imperative is not a HybridBlock"):
        import_block(Imperative(), (1, 3, 4, 4))


@needs_mxnet
def test_a_hybrid_block_using_numpy_inside_is_refused():
    import mxnet as mx

    from compiler.errors import BadModel
    from compiler.frontend import import_block

    class UsesNumpy(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return x * float(x.asnumpy().sum())

    with pytest.raises(BadModel, match="cannot be traced symbolically"):
        import_block(UsesNumpy(), (1, 3, 4, 4))


def test_a_model_over_two_gibibytes_is_refused_before_writing(tmp_path):
    import numpy as np

    from backends import get_target
    from backends.emitters import Layer
    from backends.writer import CaffeWeights, write_files
    from compiler.errors import OutputError

    # A read-only broadcast view: 2 GiB of "weights" that take no memory.
    huge = np.broadcast_to(np.float32(0), (2**29 + 1,))
    weights = CaffeWeights([Layer("fc", "InnerProduct", ["x"], ["y"], {}, [huge])], get_target("caffe"), "big")
    with pytest.raises(OutputError, match="2.00 GiB.*over 2 GiB"):
        write_files(str(tmp_path / "big"), "name: 'big'", weights)
    assert list(tmp_path.iterdir()) == []


def test_no_eval_exec_or_unpickling_in_the_code():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    forbidden = re.compile(r"\b(eval|exec)\s*\(|\bpickle\b|allow_pickle\s*=\s*True|yaml\.load\(")
    offenders = [f"{path.relative_to(root)}:{n}" for package in ("compiler", "passes", "backends", "benchmarks")
                 for path in (root / package).rglob("*.py") if not path.name.endswith("_pb2.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if forbidden.search(line)]
    assert offenders == []
