"""The PriorBox that fuse_ssd_head fits to GluonCV anchors (passes/support/priors.py), from anchors written here."""
import numpy as np
import pytest

from passes.support.priors import NoPriorBox, prior_box_for


def gluon_anchors(h, w, step, size, next_size, ratios, order="ssd"):
    """GluonCV anchors (centre form, pixels) written independently of the pass, per model_zoo/ssd/anchor.py."""
    cells = []
    for row in range(h):
        for col in range(w):
            cx, cy = (col + 0.5) * step, (row + 0.5) * step
            mean = np.sqrt(size * next_size)
            oblong = [(size * np.sqrt(r), size / np.sqrt(r)) for r in ratios[1:]]
            if order == "ssd":
                sides = [(size, size), (mean, mean)] + oblong
            elif order == "lite":        # LiteAnchorGenerator layers ≥ 1: the mean square comes last
                sides = [(size, size)] + oblong + [(mean, mean)]
            else:                        # LiteAnchorGenerator layer 0: S/2 square, ratio boxes on S, no mean square
                sides = [(size / 2, size / 2)] + oblong
            cells.append([(cx, cy, bw, bh) for bw, bh in sides])
    return np.asarray(cells, np.float32).reshape(h, w, -1, 4).astype(np.float64)


def _corners(anchors, image):
    cx, cy, w, h = np.moveaxis(anchors, -1, 0)
    return np.stack([(cx - w / 2) / image, (cy - h / 2) / image, (cx + w / 2) / image, (cy + h / 2) / image], -1)


@pytest.mark.parametrize("size, next_size, ratios", [(30, 60, [1, 2, 0.5]), (51.2, 102.4, [1, 2, 0.5, 3, 1 / 3])])
def test_priors_reproduce_ssd_anchors(size, next_size, ratios):
    anchors = gluon_anchors(5, 5, 8, size, next_size, ratios)
    prior, order = prior_box_for(anchors, (300, 300), (0.1, 0.1, 0.2, 0.2))
    assert order == list(range(len(ratios) + 1))
    assert prior.min_size == pytest.approx((size,)) and prior.max_size == pytest.approx((next_size,), rel=1e-5)
    assert prior.step_h == prior.step_w == 8 and prior.offset == 0.5
    expected = _corners(anchors, 300).reshape(-1, 4)
    assert np.abs(prior.boxes((5, 5), (300, 300)) - expected).max() <= 1e-6


def test_single_cell_level_uses_gluoncv_offset():
    anchors = gluon_anchors(1, 1, 300, 264, 315, [1, 2, 0.5])
    prior, _ = prior_box_for(anchors, (300, 300), (0.1, 0.1, 0.2, 0.2))
    assert prior.step_w == 300 and prior.offset == 0.5


def test_lite_order_is_mapped_to_prior_order():
    anchors = gluon_anchors(3, 3, 16, 60, 110, [1, 2, 0.5, 3, 1 / 3], order="lite")
    prior, order = prior_box_for(anchors, (300, 300), (0.1, 0.1, 0.2, 0.2))
    assert order == [0, 2, 3, 4, 5, 1]
    reordered = anchors[:, :, np.argsort(order)]
    assert np.abs(prior.boxes((3, 3), (300, 300)) - _corners(reordered, 300).reshape(-1, 4)).max() <= 1e-6


def test_anchors_priorbox_cannot_express_are_refused():
    anchors = gluon_anchors(3, 3, 16, 60, 110, [1, 2, 0.5], order="lite0")
    with pytest.raises(NoPriorBox, match="always use min_size"):
        prior_box_for(anchors, (300, 300), (0.1, 0.1, 0.2, 0.2))
