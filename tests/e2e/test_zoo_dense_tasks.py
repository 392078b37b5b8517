"""One model per dense-prediction family (segmentation, pose, depth, CenterNet heads, YOLOv3), built offline, converted for
caffe and ncnn and verified in OpenCV and pycaffe through the zoo sweep's worker — at small inputs where the
model takes any size, to stay within the CI budget."""
import pytest

from compiler.driver import sweep, zoo
from compiler.driver.families import default_input_shape
from tests.helpers import assert_zoo_model_verifies
from tests.needs import needs_zoo

pytestmark = needs_zoo

MODELS = [
    ("fcn_resnet50_voc", (1, 3, 96, 128)),              # output resized to the chosen input (height/width)
    ("psp_resnet50_ade", (1, 3, 96, 96)),               # pyramid pooling bins 1, 2, 3, 6 on a 12×12 map
    ("simple_pose_resnet18_v1b", None),                 # 256×192
    ("mobile_pose_mobilenetv3_small", None),            # DUC pixel shuffles
    ("monodepth2_resnet18_kitti_mono_640x192", (1, 3, 96, 320)),
    ("center_net_resnet18_v1b_voc", (1, 3, 256, 256)),  # cut before the top-k decoder
    ("yolo3_mobilenet0.25_voc", (1, 3, 320, 320)),      # decoded boxes and scores, cut before the NMS
]


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", MODELS)
def test_dense_family_representative_verifies(tmp_path, name, shape):
    assert_zoo_model_verifies(name, shape, tmp_path)


def test_dense_task_default_inputs():
    """The sizes GluonCV trains these at: pose crops 256×192, monodepth2 the frame size in its name (its pose net
    two frames on channels), segmentation its 480 crop, CenterNet 512."""
    assert default_input_shape("simple_pose_resnet18_v1b") == (1, 3, 256, 192)
    assert default_input_shape("monodepth2_resnet18_kitti_mono_640x192") == (1, 3, 192, 640)
    assert default_input_shape("monodepth2_resnet18_posenet_kitti_mono_640x192") == (1, 6, 192, 640)
    assert default_input_shape("deeplab_resnet101_ade") == (1, 3, 480, 480)
    assert default_input_shape("center_net_resnet18_v1b_voc") == (1, 3, 512, 512)


@pytest.mark.slow
def test_danet_is_refused_on_the_caffe_targets_naming_the_one_that_has_its_layer(tmp_path):
    """Its attention multiplies two activations: ncnn's MatMul does (tests/e2e/test_ncnn_runtime.py), no Caffe layer."""
    result = sweep.run_worker("danet_resnet50_citys", ["caffe", "ncnn"], ["opencv"], (1, 3, 64, 64), 0, str(tmp_path))
    assert result["status"] == {"caffe": "refused", "ncnn": "refused"}, result
    assert "batch_dot" in result["reason"] and "MatMul" in result["reason"] and "ncnn-native" in result["reason"], \
        result["reason"]


def test_builders_that_refuse_forwarded_keywords_still_build_offline():
    """yolo3_darknet53_voc forwards **kwargs to DarknetV3, which raises a Warning (not a TypeError) for a keyword it
    does not know; the zoo build used to end there with a traceback."""
    from gluoncv.model_zoo.yolo.yolo3 import YOLOV3

    assert isinstance(zoo.get_zoo_model("yolo3_darknet53_voc"), YOLOV3)


def test_a_builder_failing_any_way_is_one_clear_error(monkeypatch):
    from gluoncv import model_zoo

    from compiler.errors import BadModel

    def broken(*args, **kwargs):
        raise RuntimeError("no such weights layout")
    monkeypatch.setattr(model_zoo, "get_model", broken)
    with pytest.raises(BadModel, match="cannot build 'resnet18_v1' offline.*no such weights layout"):
        zoo.get_zoo_model("resnet18_v1")
