"""Both frontends of exported files write the same bytes: our readers (no MXNet) and MXNet's reading of the same
files, with MXNet's shape inference checking every value, give byte-identical prototxt and caffemodel — for every
real checkpoint of ../shared/wild_models/ on every target, and for one zoo model per family at its default input
(the whole zoo: `gluon2caffe zoo --target all --compare-frontends -o DIR`)."""
import pytest

from compiler.driver.verify.same_files import frontends_difference
from tests.wild import CHECKPOINTS, files_of, require_wild_models

pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) is the other frontend")

# one model per family whose exported files convert, and the target its files are for (CenterNet's exported files
# keep its decoder, whose broadcast_equal/topk no target has: only its live net converts, cut before the decoder)
ZOO_SAMPLE = {"resnet18_v1b_kinetics400": "caffe",
              "mobilenetv3_small": "ncnn", "monodepth2_resnet18_kitti_stereo_640x192": "caffe",
              "simple_pose_resnet18_v1b": "caffe", "fcn_resnet50_voc": "caffe",
              "ssd_512_mobilenet1.0_voc": "caffe-ssd", "yolo3_mobilenet0.25_voc": "caffe"}


@pytest.mark.parametrize("target", ["caffe", "caffe-ssd", "ncnn"])
@pytest.mark.parametrize("folder", sorted(CHECKPOINTS))
def test_a_real_checkpoint_gives_the_same_bytes(tmp_path, folder, target):
    require_wild_models()
    symbol, params, shape = files_of(folder)
    assert frontends_difference(symbol, params, tuple(map(int, shape.split(","))), target,
                                str(tmp_path / "native")) is None
    assert (tmp_path / "native.caffemodel").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ZOO_SAMPLE))
def test_a_zoo_model_gives_the_same_bytes(tmp_path, name):
    from compiler.driver.families import default_input_shape
    from compiler.driver.zoo import export_block, random_zoo_model

    shape = default_input_shape(name)
    symbol, params = export_block(random_zoo_model(name, 0, shape), shape, str(tmp_path / name))
    assert frontends_difference(symbol, params, shape, ZOO_SAMPLE[name], str(tmp_path / "native")) is None


def test_a_difference_is_found(tmp_path):
    """The comparison can fail: a file written from other weights differs from what the frontends make."""
    require_wild_models()
    import numpy as np

    from compiler.driver.api import compile_model
    from compiler.driver.verify.same_files import difference
    from compiler.frontend.params import load_params
    from tests.params_files import save_params

    symbol, params, shape = files_of("mtcnn_det1")
    changed = {k: v * np.float32(1.5) if k.endswith("_weight") else v for k, v in load_params(params).items()}
    save_params(str(tmp_path / "changed-0000.params"), changed)
    shape = tuple(map(int, shape.split(",")))
    compile_model(symbol, shape, params=str(tmp_path / "changed-0000.params")).save(str(tmp_path / "changed"))
    assert "weights differ" in difference(compile_model(symbol, shape, params=params), str(tmp_path / "changed"))
