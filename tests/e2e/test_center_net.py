"""CenterNet: the heads are converted and verified, and the decode that PREFIX.decode.json describes, applied to
the Caffe outputs, gives GluonCV's own detections (its decoder run on the full MXNet net)."""
import numpy as np
import pytest

from tests.helpers import cut_detector_run
from tests.needs import needs_zoo

pytestmark = needs_zoo


def decode(meta: dict, blobs: dict) -> list[tuple[int, float, tuple]]:
    """The decode, written from the JSON's description: peaks kept, top-k over classes·H·W, offset and size gathered
    at each cell, boxes scaled to input pixels."""
    heatmap = blobs[meta["outputs"]["heatmap"]][0]
    peaks = blobs[meta["outputs"]["peaks"]][0]
    wh, offset = blobs[meta["outputs"]["wh"]][0], blobs[meta["outputs"]["offset"]][0]
    keep = np.where(peaks == heatmap, heatmap, 0).reshape(-1)
    classes, height, width = heatmap.shape
    found = []
    for index in np.argsort(-keep, kind="stable")[:meta["topk"]]:
        cls, cell = divmod(int(index), height * width)
        row, col = divmod(cell, width)
        x, y = col + offset[0, row, col], row + offset[1, row, col]
        w, h = wh[0, row, col], wh[1, row, col]
        box = tuple(v * meta["scale"] for v in (x - w / 2, y - h / 2, x + w / 2, y + h / 2))
        found.append((cls, float(keep[index]), box))
    return found


@pytest.mark.slow
def test_center_net_decode_metadata_reproduces_gluoncv(tmp_path):
    meta, outputs, (ids, scores, boxes) = cut_detector_run("center_net_resnet18_v1b_voc", (1, 3, 224, 224), tmp_path)
    assert meta["scale"] == 4.0 and set(meta["outputs"]) == {"heatmap", "peaks", "wh", "offset"}
    expected = sorted((int(i), float(s), tuple(b)) for i, s, b in zip(ids, scores, boxes))
    for runtime, blobs in outputs.items():
        found = sorted(decode(meta, dict(zip(meta["outputs"].values(), blobs))))
        assert len(found) == len(expected) == meta["topk"]
        for (cls, score, box), (want_cls, want_score, want_box) in zip(found, expected):
            assert cls == want_cls and abs(score - want_score) <= 1e-4
            assert np.abs(np.array(box) - np.array(want_box)).max() <= 1e-4 * max(1.0, np.abs(want_box).max())
