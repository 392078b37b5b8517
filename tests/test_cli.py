"""CLI behaviour on bad input: a clear message, exit code 2, and no output files."""
import json

import mxnet as mx
import pytest

from compiler.driver.cli import main
from tests.helpers import random_params


@pytest.fixture
def exported(tmp_path):
    data = mx.sym.var("data")
    symbol = mx.sym.relu(mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv"), name="relu")
    params = random_params(symbol, {"data": (1, 3, 8, 8)})
    symbol.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"), {f"arg:{k}": mx.nd.array(v) for k, v in params.items()})
    return tmp_path


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_symbol_file_converts_and_verifies(exported, capsys):
    code, out, _ = _run(capsys, "convert", str(exported / "m-symbol.json"), "--params", str(exported / "m-0000.params"),
                        "--input-shape", "1,3,8,8", "-o", str(exported / "out"), "--verify", "--report")
    assert code == 0 and "ok" in out and (exported / "out.report.json").exists()
    assert json.loads((exported / "out.report.json").read_text())["exact"] is True


@pytest.mark.parametrize("argv, message", [
    (["--input-shape", "1,3,0,8"], "every dim must be a positive int"),
    (["--input-shape", "nope:1,3,8,8"], "input 'nope' does not exist"),
    (["--input-shape", "1,3,2,2"], "shape"),
])
def test_bad_inputs_exit_2_without_files(exported, capsys, argv, message):
    code, _, err = _run(capsys, "convert", str(exported / "m-symbol.json"), "--params",
                        str(exported / "m-0000.params"), "-o", str(exported / "out"), *argv)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (exported / "out.prototxt").exists() and not (exported / "out.caffemodel").exists()


def test_unknown_op_names_node_and_op(exported, capsys):
    document = json.loads((exported / "m-symbol.json").read_text())
    document["nodes"][-1]["op"] = "FancyNewOp"
    (exported / "bad-symbol.json").write_text(json.dumps(document))
    code, _, err = _run(capsys, "convert", str(exported / "bad-symbol.json"), "--params",
                        str(exported / "m-0000.params"), "--input-shape", "1,3,8,8", "-o", str(exported / "out"))
    assert code == 2 and "FancyNewOp" in err


def test_zoo_model_without_random_init_explains_itself(tmp_path, capsys):
    code, _, err = _run(capsys, "convert", "resnet18_v1", "-o", str(tmp_path / "x"))
    assert code == 2 and "--random-init" in err


def test_verification_failure_exits_1(exported, capsys):
    assert _run(capsys, "convert", str(exported / "m-symbol.json"), "--params", str(exported / "m-0000.params"),
                "--input-shape", "1,3,8,8", "-o", str(exported / "out"))[0] == 0
    code, out, err = _run(capsys, "verify", str(exported / "out"), str(exported / "m-symbol.json"), "--params",
                          str(exported / "m-0000.params"), "--input-shape", "1,3,8,8", "--to-bgr")
    assert code == 1 and "FAIL" in out
