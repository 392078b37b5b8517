"""Real trained checkpoints that other people published (2016–2020), read from ../shared/wild_models/ (never copied
into the repository): each converts through the CLI on every target and verifies against MXNet in OpenCV and
pycaffe (ncnn files in OpenCV), with the input their code feeds and with the preprocessing options a user
deploying them would pass."""
from __future__ import annotations

import os
import pathlib

import pytest

from compiler.driver.cli import main
from compiler.driver.sweep import RUNTIMES_OF_TARGET

WILD = pathlib.Path(os.environ.get("GLUON2CAFFE_WILD_MODELS",
                                   pathlib.Path(__file__).resolve().parents[3] / "shared" / "wild_models"))
if not WILD.is_dir():
    if os.environ.get("GLUON2CAFFE_REQUIRE_WILD_MODELS"):
        raise RuntimeError(f"GLUON2CAFFE_REQUIRE_WILD_MODELS is set but {WILD} does not exist")
    pytest.skip(f"the shared real checkpoints are not at {WILD} (set GLUON2CAFFE_WILD_MODELS)", allow_module_level=True)

# folder: (symbol file, params file, the input its code feeds, options a user deploying it would add)
CHECKPOINTS = {
    "mtcnn_det1": ("det1-symbol.json", "det1-0001.params", "1,3,37,53", ("--mean", "127.5", "--std", "128")),
    "mtcnn_det2": ("det2-symbol.json", "det2-0001.params", "4,3,24,24", ("--mean", "127.5", "--std", "128")),
    "mtcnn_det4": ("det4-symbol.json", "det4-0001.params", "2,15,24,24", ()),
    "mobileface_v1": ("MobileFace_Identification_V1-symbol.json", "MobileFace_Identification_V1-0000.params",
                      "1,1,100,100", ("--mean", "127.5", "--std", "127.5")),
    "genderage": ("model-symbol.json", "model-0000.params", "1,3,112,112", ("--to-bgr",)),
    "lffd_plate_small": ("symbol_64_512_16L_3scales_v1_small_deploy.json",
                         "train_64_512_16L_3scales_v1_small_iter_1000000.params", "1,3,480,640", ()),
    "lenet_toy": ("LeNet-symbol.json", "LeNet-0010.params", "1,1,28,28", ("--input-scale", "0.00390625")),
}


def _convert(tmp_path, folder: str, target: str, extra=()) -> int:
    symbol, params, shape, _ = CHECKPOINTS[folder]
    runtimes = RUNTIMES_OF_TARGET[target]
    return main(["convert", str(WILD / folder / symbol), "--params", str(WILD / folder / params), "--input-shape",
                 shape, "--target", target, "-o", str(tmp_path / f"{folder}.{target}"), "--verify", "--quiet",
                 "--runtime", "all" if len(runtimes) > 1 else runtimes[0], *extra])


@pytest.mark.parametrize("target", ["caffe", "caffe-ssd", "ncnn"])
@pytest.mark.parametrize("folder", sorted(CHECKPOINTS))
def test_a_real_checkpoint_converts_and_verifies(tmp_path, capsys, folder, target):
    assert _convert(tmp_path, folder, target) == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert "FAIL" not in printed and printed.count(" ok") >= 1, printed


@pytest.mark.parametrize("folder", sorted(CHECKPOINTS))
def test_a_real_checkpoint_with_its_deployment_preprocessing(tmp_path, capsys, folder):
    options = CHECKPOINTS[folder][3]
    assert _convert(tmp_path, folder, "caffe", options) == 0, capsys.readouterr()


def test_label_variables_are_no_inputs(tmp_path):
    """MTCNN's R-Net and the textbook LeNet keep their SoftmaxOutput's label variable: the Caffe model has the data
    input alone, and verification feeds MXNet no label."""
    from compiler.driver.api import compile_model

    for folder in ("mtcnn_det2", "lenet_toy"):
        symbol, params, shape, _ = CHECKPOINTS[folder]
        compiled = compile_model(str(WILD / folder / symbol), tuple(int(d) for d in shape.split(",")),
                                 params=str(WILD / folder / params))
        assert [v.name for v in compiled.graph.inputs] == ["data"]
        assert [layer.type for layer in compiled.layers].count("Input") == 1
