"""Detectors as a user who trained one holds them: the files HybridBlock.export() writes for YOLOv3 and for SSD (both
box-decoder forms). Each converts on every target and gives GluonCV's own detections (the full MXNet net, box_nms
included): through DetectionOutput where the target has it, through PREFIX.decode.json's NMS elsewhere."""
import json
import re

import pytest

from compiler.driver.cli import main
from tests.helpers import export_random_detector, runtimes_for
from tests.needs import needs_zoo

pytestmark = needs_zoo

DETECTORS = [("yolo3_mobilenet0.25_voc", (1, 3, 320, 320), False), ("ssd_300_mobilenet0.25_voc", (1, 3, 300, 300), True),
             ("ssd_300_mobilenet0.25_voc", (1, 3, 300, 300), False)]


def _counts(out: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"detections: GluonCV (\d+), converted (\d+), matched (\d+)", out)]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["caffe", "caffe-ssd", "ncnn", "ncnn-native"])
@pytest.mark.parametrize("name, shape, minimal_opset", DETECTORS, ids=["yolo3", "ssd-minimal-opset", "ssd-box-decode"])
def test_an_exported_detector_gives_gluoncvs_detections(tmp_path, capsys, name, shape, minimal_opset, target):
    symbol, params = export_random_detector(name, shape, str(tmp_path / "trained"), minimal_opset)
    runtimes = runtimes_for(target)
    code = main(["convert", symbol, "--params", params, "--input-shape", ",".join(map(str, shape)), "--target", target,
                 "-o", str(tmp_path / "model"), "--verify", "--quiet",
                 "--runtime", "all" if len(runtimes) > 1 else runtimes[0]])
    out = capsys.readouterr()
    if target == "caffe" and name.startswith("ssd") and not minimal_opset:
        # box_decode becomes PriorBox + DetectionOutput, which BVLC Caffe lacks: the reason names the targets
        assert code == 2 and "caffe-ssd" in out.err and not (tmp_path / "model.prototxt").exists()
        return
    assert code == 0, out.out + out.err
    counts = _counts(out.out)
    assert len(counts) == len(runtimes) and all(g == c == m and g > 10 for g, c, m in counts), out.out
    decode = tmp_path / "model.decode.json"
    assert decode.exists() == (target == "caffe")   # without DetectionOutput the application runs the NMS
    if target == "caffe":
        meta = json.loads(decode.read_text())
        assert meta["nms"]["per_class"] and meta["nms"]["keep"] == 100 and set(meta["outputs"]) == {"boxes", "scores"}
