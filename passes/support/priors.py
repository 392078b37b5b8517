"""The caffe-ssd PriorBox that reproduces a level of GluonCV anchors (for fuse_ssd_head): its sizes, ratios, steps
and offset read back from the anchors, snapped to the simple fractions they were made from, or scaled to integers
for the caffe-ssd that truncates sizes."""
from __future__ import annotations

from fractions import Fraction

import attrs
import numpy as np

from compiler.ops import PriorBox

PRIOR_TOLERANCE = 1e-6   # normalised units, the largest allowed |PriorBox − GluonCV anchor|


class NoPriorBox(ValueError):
    """No PriorBox makes these anchors (the message says why)."""


def f32(x: float) -> float:
    return float(np.float32(x))


def snapped(prior: PriorBox) -> PriorBox:
    """The same PriorBox with values read back from float32 anchors snapped to simple fractions (2, 0.5, 51.2)."""
    def snap(x: float) -> float:
        return f32(float(Fraction(x).limit_denominator(1000)))

    return attrs.evolve(prior, min_size=tuple(map(snap, prior.min_size)), max_size=tuple(map(snap, prior.max_size)),
                        aspect_ratio=tuple(map(snap, prior.aspect_ratio)), step_h=snap(prior.step_h),
                        step_w=snap(prior.step_w), offset=snap(prior.offset))


def prior_box_for(level_anchors: np.ndarray, image_hw, variance) -> tuple[PriorBox, list[int]]:
    """PriorBox reproducing one level's (H, W, A, 4) centre-form pixel anchors, and the anchor → prior order."""
    h, w, count, _ = level_anchors.shape
    cell = level_anchors[0, 0]
    steps = []
    for axis, size in ((1, h), (0, w)):
        if size > 1:
            step = level_anchors[1, 0, 0, 1] - cell[0, 1] if axis == 1 else level_anchors[0, 1, 0, 0] - cell[0, 0]
        else:
            step = cell[0, axis] / 0.5   # one cell: GluonCV's offset is always 0.5
        steps.append(step)
    step_h, step_w = steps
    offset = cell[0, 0] / step_w
    if abs(cell[0, 1] / step_h - offset) > 1e-4:
        raise NoPriorBox("the anchors use different offsets along x and y")
    sides = [(float(bw), float(bh)) for bw, bh in cell[:, 2:]]
    low = sides[0][0]
    if abs(sides[0][0] - sides[0][1]) > 1e-3 * low:
        raise NoPriorBox("the first anchor of a cell is not a square, so PriorBox cannot start with min_size")
    squares = [s for s in sides[1:] if abs(s[0] - s[1]) <= 1e-3 * s[0]]
    oblongs = [s for s in sides[1:] if abs(s[0] - s[1]) > 1e-3 * s[0]]
    if len(squares) > 1:
        raise NoPriorBox(f"{len(squares) + 1} square anchors per cell; PriorBox makes at most two")
    high = (squares[0][0] ** 2 / low,) if squares else ()
    if high and high[0] <= low:
        raise NoPriorBox("the second square is smaller than the first; caffe-ssd needs max_size > min_size")
    ratios = []
    for bw, bh in oblongs:
        r = (bw / low) ** 2
        if abs(low / np.sqrt(r) - bh) > 1e-3 * bh:
            raise NoPriorBox(f"anchor {bw:.2f}×{bh:.2f} is not min_size·√r × min_size/√r; PriorBox ratio boxes "
                               "always use min_size")
        ratios.append(f32(r))
    prior = PriorBox(min_size=(f32(low),), max_size=tuple(f32(m) for m in high), aspect_ratio=tuple(ratios),
                     variance=tuple(variance), step_h=f32(step_h), step_w=f32(step_w), offset=f32(offset))
    caffe_sides = [(low, low)] + [(np.sqrt(low * m),) * 2 for m in high] + [
        (low * np.sqrt(r), low / np.sqrt(r)) for r in prior.ratios[1:]]
    order = []
    for bw, bh in sides:
        match = [j for j, (cw, ch) in enumerate(caffe_sides) if abs(cw - bw) + abs(ch - bh) < 1e-3 * low]
        if len(match) != 1 or match[0] in order:
            raise NoPriorBox(f"anchor {bw:.2f}×{bh:.2f} has no unique PriorBox counterpart")
        order.append(match[0])
    if len(caffe_sides) != count:
        raise NoPriorBox(f"PriorBox would make {len(caffe_sides)} priors per cell, the net has {count}")
    return prior, order


def _integer_scale(prior: PriorBox) -> int | None:
    """The smallest k ≤ 1000 that makes every size an integer."""
    sizes = prior.min_size + prior.max_size
    return next((k for k in range(1, 1001) if all(abs(k * s - round(k * s)) <= 1e-6 * k * s for s in sizes)), None)


def with_integer_sizes(prior: PriorBox, image_hw) -> PriorBox:
    """The same priors with min/max sizes, steps and the normalising image size all scaled by one k that makes the
    sizes integers: caffe-ssd truncates sizes to int, but k·x/(k·W) = x/W."""
    k = _integer_scale(prior)
    if k is None or k == 1:
        return prior
    return attrs.evolve(prior, min_size=tuple(float(round(k * s)) for s in prior.min_size),
                        max_size=tuple(float(round(k * s)) for s in prior.max_size), step_h=f32(k * prior.step_h),
                        step_w=f32(k * prior.step_w), img_h=k * image_hw[0], img_w=k * image_hw[1])
