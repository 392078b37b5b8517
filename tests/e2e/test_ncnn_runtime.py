"""The ncnn-native target in the real ncnn runtime (the `ncnn` wheel, float32): one model per family, converted to
ncnn's own .param/.bin and verified against MXNet as `gluon2caffe zoo --target ncnn-native` reports it — detectors
by their detections, equal to GluonCV's."""
import pytest

from tests.fingerprints import SAMPLE, SMALL_INPUTS
from tests.needs import needs_mxnet, needs_zoo

pytestmark = [needs_mxnet, needs_zoo]
pytest.importorskip("ncnn", reason="the ncnn wheel verifies the ncnn targets: pip install -e '.[verify]'")


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLE)
def test_family_representative_verifies_in_ncnn(tmp_path, name):
    from compiler.driver import sweep

    result = sweep.run_worker(name, ["ncnn-native"], ["ncnn"], SMALL_INPUTS.get(name), 0, str(tmp_path))
    assert result["status"] == {"ncnn-native": "verified"}, result["reason"]
    assert result["relative"]["ncnn-native/ncnn"] <= 1e-4, result["relative"]
