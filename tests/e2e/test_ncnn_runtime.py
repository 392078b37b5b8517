"""The ncnn target's files in the real ncnn runtime (the `ncnn` wheel, float32), through the project's translation
into ncnn's .param/.bin (backends/ncnn_format.py): one model per family, as `gluon2caffe zoo --target ncnn
--runtime ncnn` reports it, exact against MXNet like OpenCV."""
import pytest

from tests.fingerprints import SAMPLE, SMALL_INPUTS
from tests.needs import needs_mxnet, needs_zoo

pytestmark = [needs_mxnet, needs_zoo]
pytest.importorskip("ncnn", reason="the ncnn wheel is a test dependency: pip install -e '.[test]'")

# The detection layers the translation does not write yet: such a model is refused by name in ncnn, not run wrongly.
UNTRANSLATED = {"ssd_300_mobilenet0.25_voc": "PriorBox", "yolo3_mobilenet0.25_voc": "DetectionOutput"}


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLE)
def test_family_representative_runs_exactly_in_ncnn(tmp_path, name):
    from compiler.driver import sweep

    result = sweep.run_worker(name, ["ncnn"], ["opencv", "ncnn"], SMALL_INPUTS.get(name), 0, str(tmp_path))
    if name in UNTRANSLATED:
        assert result["status"] == {"ncnn": "failed"}, result
        assert f"({UNTRANSLATED[name]}) has no ncnn translation" in result["reason"], result["reason"]
        return
    assert result["status"] == {"ncnn": "verified"}, result["reason"]
    assert result["relative"]["ncnn/opencv"] <= 1e-4 and result["relative"]["ncnn/ncnn"] <= 1e-4, result["relative"]
