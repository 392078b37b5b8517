"""CLI behaviour on bad input: a clear message, exit code 2, and no output files."""
import json

import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

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
                          str(exported / "m-0000.params"), "--input-shape", "1,3,8,8", "--tolerance", "1e-12")
    assert code == 1 and "FAIL" in out


@pytest.fixture(scope="module")
def bgr_resnet(tmp_path_factory):
    """resnet18_v1 (seeded random weights) converted with --to-bgr and --std."""
    folder = tmp_path_factory.mktemp("bgr")
    assert main(["convert", "resnet18_v1", "--random-init", "0", "--to-bgr", "--std", "58,57,57.5",
                 "-o", str(folder / "r18")]) == 0
    return folder / "r18"


@pytest.mark.parametrize("argv, named", [
    (["--std", "58,57,57.5"], "--to-bgr added"),
    (["--to-bgr", "--mean", "1,2,3", "--std", "58,57,57.5"], "--mean left out"),
    (["--to-bgr", "--std", "58,57,57.5", "--input-scale", "0.5"], "--input-scale left out"),
    (["--to-bgr", "--std", "58,57,57.5", "--no-merge-bn"], "--no-merge-bn left out"),
])
def test_verify_with_other_options_than_convert_says_which(capsys, bgr_resnet, argv, named):
    """verify never blames the conversion for options that do not match the files: exit 2, naming the option."""
    code, out, err = _run(capsys, "verify", str(bgr_resnet), "resnet18_v1", "--random-init", "0", *argv)
    assert code == 2 and "converted with other options" in err and named in err, err
    assert "differs from MXNet" not in err + out


def test_verify_without_the_std_of_convert_points_at_the_first_layer(capsys, bgr_resnet):
    """--std alone folds into the first convolution's weights: no option change can guess its values, but the
    difference is located where the preprocessing acts."""
    code, _, err = _run(capsys, "verify", str(bgr_resnet), "resnet18_v1", "--random-init", "0", "--to-bgr")
    assert code == 2 and "reads the input: --mean/--std/--input-scale and --to-bgr act there" in err, err


def test_verify_with_another_seed_says_the_files_are_not_this_model(capsys, bgr_resnet):
    code, _, err = _run(capsys, "verify", str(bgr_resnet), "resnet18_v1", "--random-init", "1", "--to-bgr", "--std",
                        "58,57,57.5")
    assert code == 2 and "no single option change reproduces them" in err, err


def test_verify_on_an_image_with_mismatched_options_is_not_a_verification_failure(tmp_path, capsys, bgr_resnet):
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "photo.png"), np.random.RandomState(0).randint(0, 255, (40, 50, 3), np.uint8))
    code, _, err = _run(capsys, "verify", str(bgr_resnet), "resnet18_v1", "--random-init", "0", "--image",
                        str(tmp_path / "photo.png"), "--mean", "123.7,116.3,103.5", "--std", "58,57,57.5", "--to-bgr")
    assert code == 2 and "--mean left out" in err and "differs from MXNet" not in err, err


def test_verify_with_the_options_of_convert_passes(capsys, bgr_resnet):
    code, out, err = _run(capsys, "verify", str(bgr_resnet), "resnet18_v1", "--random-init", "0", "--to-bgr", "--std",
                          "58,57,57.5", "--runtime", "all")
    assert code == 0 and out.count(" ok") == 2, out + err


def test_ncnn_native_writes_param_and_bin_that_verify_in_ncnn(exported, capsys):
    pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")
    code, out, _ = _run(capsys, "convert", str(exported / "m-symbol.json"), "--params", str(exported / "m-0000.params"),
                        "--input-shape", "2,3,8,8", "--target", "ncnn-native", "-o", str(exported / "native"),
                        "--verify")
    assert code == 0 and "verification in ncnn" in out and " ok" in out, out
    assert (exported / "native.param").read_text().startswith("7767517\n") and (exported / "native.bin").exists()
    assert not (exported / "native.prototxt").exists() and not (exported / "native.caffemodel").exists()
    code, out, _ = _run(capsys, "verify", str(exported / "native"), str(exported / "m-symbol.json"), "--params",
                        str(exported / "m-0000.params"), "--input-shape", "2,3,8,8", "--target", "ncnn-native")
    assert code == 0 and " ok" in out, out
    code, _, err = _run(capsys, "verify", str(exported / "native"), str(exported / "m-symbol.json"), "--params",
                        str(exported / "m-0000.params"), "--input-shape", "2,3,8,8", "--target", "ncnn-native",
                        "--runtime", "opencv")
    assert code == 2 and "does not run the ncnn-native target's files" in err and "Traceback" not in err


@pytest.mark.parametrize("target", ["ncnn", "ncnn-native"])
def test_a_layer_along_the_batch_axis_is_refused_for_ncnn_before_any_file(tmp_path, capsys, target):
    """ncnn computes one sample at a time: a tile of the batch (a Concat along axis 0, which caffe2ncnn would turn
    into another axis) is refused naming the node, and nothing is written."""
    data = mx.sym.var("data")
    symbol = mx.sym.tile(mx.sym.relu(data, name="relu"), reps=(2, 1, 1, 1), name="tiled")
    params = {}
    symbol.save(str(tmp_path / "t-symbol.json"))
    mx.nd.save(str(tmp_path / "t-0000.params"), {f"arg:{k}": mx.nd.array(v) for k, v in params.items()})
    code, _, err = _run(capsys, "convert", str(tmp_path / "t-symbol.json"), "--params", str(tmp_path / "t-0000.params"),
                        "--input-shape", "1,3,4,4", "--target", target, "-o", str(tmp_path / "out"))
    assert code == 2 and "tiled (tile)" in err and "batch axis" in err and "Traceback" not in err, err
    assert not any(tmp_path.glob("out*"))
