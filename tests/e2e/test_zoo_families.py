"""One model per family the zoo issue added, converted for the caffe and ncnn targets and verified in OpenCV and (for
caffe) pycaffe at 1e-4 relative — through the zoo sweep's own worker, so that CI checks what `gluon2caffe zoo`
reports. The full sweep is `gluon2caffe zoo --task classification --target all --runtime all -o DIR`."""
import pytest

from compiler.driver import sweep
from tests.helpers import assert_zoo_model_verifies, available_runtimes
from tests.needs import needs_zoo

pytestmark = needs_zoo

FAMILIES = ["se_resnet18_v1", "mobilenetv3_small", "shufflenet_v2", "resnest14", "xception", "nasnet_4_1056",
            "hrnet_w18_small_v1_c", "cifar_residualattentionnet56", "resnet18_v1b_0.89", "vgg16_ucf101",
            "resnet18_v1b_kinetics400"]


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", [(name, None) for name in FAMILIES] + [("se_resnet18_v1", (1, 3, 192, 256))])
def test_family_representative_verifies(tmp_path, name, shape):
    assert_zoo_model_verifies(name, shape, tmp_path)


@pytest.mark.slow
def test_groupnorm_models_are_refused_with_the_reason(tmp_path):
    result = sweep.run_worker("resnet50_v1b_gn", ["caffe"], ["opencv"], None, 0, str(tmp_path))
    assert result["status"] == {"caffe": "refused"} and "GroupNorm" in result["reason"]


@pytest.mark.slow
def test_action_recognition_with_a_chosen_number_of_segments(tmp_path, capsys):
    """The batch carries the segments: num_segments=3 makes the input (3, 3, 224, 224) and the consensus a mean over
    them (Reshape (1, 3, K) → mean axis 1)."""
    from compiler.driver.cli import main
    from tests.helpers import input_shapes_of

    runtime = "all" if len(available_runtimes()) > 1 else "opencv"
    code = main(["convert", "inceptionv1_ucf101", "--random-init", "0", "--zoo-arg", "num_segments=3",
                 "-o", str(tmp_path / "tsn"), "--verify", "--runtime", runtime])
    out = capsys.readouterr().out
    assert code == 0 and out.count(") ok") == len(available_runtimes()), out
    assert input_shapes_of(str(tmp_path / "tsn.prototxt")) == {"data": (3, 3, 224, 224)}
