"""CenterNet: the heads are converted and verified, and the decode that PREFIX.decode.json describes, applied to
the Caffe outputs, gives GluonCV's own detections (its decoder run on the full MXNet net)."""
import json

import mxnet as mx
import numpy as np
import pytest

from compiler.driver import zoo
from compiler.driver.api import compile_model
from compiler.driver.verify.runtimes import run_runtime
from tests.helpers import available_runtimes


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
    name, shape = "center_net_resnet18_v1b_voc", (1, 3, 224, 224)
    heads = zoo.random_zoo_model(name, 0, shape)
    compiled = compile_model(heads, shape)
    prefix = str(tmp_path / "centernet")
    prototxt, caffemodel = compiled.save(prefix)
    with open(prefix + ".decode.json") as f:
        meta = json.load(f)
    assert meta["scale"] == 4.0 and set(meta["outputs"]) == {"heatmap", "peaks", "wh", "offset"}

    image = np.random.RandomState(3).standard_normal(shape).astype(np.float32)
    ids, scores, boxes = (a.asnumpy()[0] for a in heads.net(mx.nd.array(image)))   # GluonCV's full decoder
    expected = sorted((int(i), float(s), tuple(b)) for i, s, b in zip(ids, scores, boxes))
    for runtime in available_runtimes():
        outputs = run_runtime(runtime, prototxt, caffemodel, {"data": image}, compiled.output_layers)
        found = sorted(decode(meta, dict(zip(meta["outputs"].values(), outputs))))
        assert len(found) == len(expected) == meta["topk"]
        for (cls, score, box), (want_cls, want_score, want_box) in zip(found, expected):
            assert cls == want_cls and abs(score - want_score) <= 1e-4
            assert np.abs(np.array(box) - np.array(want_box)).max() <= 1e-4 * max(1.0, np.abs(want_box).max())
