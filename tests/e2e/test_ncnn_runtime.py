"""The ncnn-native target in the real ncnn runtime (the `ncnn` wheel, float32): one model per family, converted to
ncnn's own .param/.bin and verified against MXNet as `gluon2caffe zoo --target ncnn-native` reports it — detectors
by their detections, equal to GluonCV's."""
import re

import pytest

from tests.fingerprints import SAMPLE, SMALL_INPUTS
from tests.needs import needs_mxnet, needs_zoo

pytestmark = [needs_mxnet, needs_zoo]
pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")


# The families only ncnn's own layers convert (MatMul, DeformableConv2D), at small inputs, one non-square
NCNN_ONLY = {"danet_resnet50_citys": (1, 3, 120, 120), "center_net_resnet18_v1b_dcnv2_voc": (1, 3, 128, 160)}


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLE + tuple(NCNN_ONLY))
def test_family_representative_verifies_in_ncnn(tmp_path, name):
    from compiler.driver import sweep

    shape = NCNN_ONLY.get(name) or SMALL_INPUTS.get(name)
    result = sweep.run_worker(name, ["ncnn-native"], ["ncnn"], shape, 0, str(tmp_path))
    assert result["status"] == {"ncnn-native": "verified"}, result["reason"]
    assert result["relative"]["ncnn-native/ncnn"] <= 1e-4, result["relative"]


@pytest.mark.slow
def test_an_ssd_batch_at_a_non_square_input_verifies_in_ncnn(tmp_path, capsys):
    """ncnn returns each sample's priors, where Caffe's PriorBox blob has a batch of one whatever the input's: the
    priors check compares one sample's (it once compared a batch's worth against one and failed)."""
    from compiler.driver.cli import main

    code = main(["convert", "ssd_300_mobilenet0.25_voc", "--random-init", "0", "--target", "ncnn-native",
                 "--input-shape", "2,3,256,320", "--to-bgr", "-o", str(tmp_path / "ssd"), "--verify"])
    out = capsys.readouterr().out
    assert code == 0 and "FAIL" not in out and "priors vs anchors" in out, out
    assert re.search(r"detections: GluonCV (\d+), converted \1, matched \1 .*: equal", out), out
