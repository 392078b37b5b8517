"""NumPy kernels that several ops' `evaluate` share: 2-D convolution, transposed convolution and pooling windows,
computed in float64 (the reference semantics, not a fast path; docs/architecture.md#interpreter)."""
from __future__ import annotations

import numpy as np


def _strided(x: np.ndarray, start: tuple[int, int], stride: tuple[int, int], count: tuple[int, int]) -> np.ndarray:
    """x[..., start_h + stride_h·i, start_w + stride_w·j] for i < count_h, j < count_w."""
    (h0, w0), (sh, sw), (ch, cw) = start, stride, count
    return x[..., h0:h0 + sh * (ch - 1) + 1:sh, w0:w0 + sw * (cw - 1) + 1:sw]


def conv2d(x, weight, bias, stride, pad, dilate, groups: int) -> np.ndarray:
    """MXNet's Convolution on NCHW data: weight (O, C/groups, kh, kw), output (N, O, Ho, Wo)."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    n, c, h, w = x.shape
    out_channels, per_group, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    size = [(s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip((h, w), pad, dilate, (kh, kw), stride)]
    grouped = padded.reshape(n, groups, per_group, *padded.shape[2:])
    kernels = weight.reshape(groups, out_channels // groups, per_group, kh, kw)
    out = np.zeros((n, groups, out_channels // groups, size[0] * size[1]))
    for i in range(kh):
        for j in range(kw):   # one matrix product per kernel tap, (O/g, C/g) · (C/g, Ho·Wo) per image and group
            window = _strided(grouped, (i * dilate[0], j * dilate[1]), stride, size)
            out += np.matmul(kernels[:, :, :, i, j], window.reshape(n, groups, per_group, -1))
    out = out.reshape(n, out_channels, *size)
    if bias is not None:
        out += np.asarray(bias, np.float64).reshape(1, -1, 1, 1)
    return out


def modulated_deformable_conv2d(x, offset, mask, weight, bias, stride, pad, dilate) -> np.ndarray:
    """MXNet's _contrib_ModulatedDeformableConvolution (one group, one deformable group): tap (i, j) of output
    (y, x) reads the input at (y·stride − pad + i·dilate + dy, x·stride − pad + j·dilate + dx), (dy, dx) =
    offset[2t], offset[2t + 1] for t = i·kw + j, bilinearly: nothing when that point is not inside (−1, H) × (−1, W),
    each of its four neighbours only where it lies in the image; times mask[t]."""
    x, offset, mask = (np.asarray(a, np.float64) for a in (x, offset, mask))
    weight = np.asarray(weight, np.float64)
    n, c, h, w = x.shape
    out_channels, _, kh, kw = weight.shape
    ho, wo = offset.shape[2:]
    base_y = (np.arange(ho) * stride[0] - pad[0])[:, None]
    base_x = (np.arange(wo) * stride[1] - pad[1])[None, :]
    flat = x.reshape(n, c, h * w)
    out = np.zeros((n, out_channels, ho * wo))
    for i in range(kh):
        for j in range(kw):
            t = i * kw + j
            y = base_y + i * dilate[0] + offset[:, 2 * t]          # (N, Ho, Wo)
            xs = base_x + j * dilate[1] + offset[:, 2 * t + 1]
            inside = (y > -1) & (xs > -1) & (y < h) & (xs < w)
            y0, x0 = np.floor(y), np.floor(xs)
            sampled = np.zeros((n, c, ho * wo))
            for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
                yy, xx = y0 + dy, x0 + dx
                share = (1 - np.abs(y - yy)) * (1 - np.abs(xs - xx))
                valid = inside & (yy >= 0) & (yy <= h - 1) & (xx >= 0) & (xx <= w - 1)
                index = (np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)).astype(np.int64).reshape(n, 1, -1)
                gathered = np.take_along_axis(flat, np.broadcast_to(index, (n, c, ho * wo)), axis=2)
                sampled += gathered * (share * valid).reshape(n, 1, -1)
            sampled *= mask[:, t].reshape(n, 1, -1)
            out += np.einsum("oc,ncp->nop", weight[:, :, i, j], sampled)
    out = out.reshape(n, out_channels, ho, wo)
    if bias is not None:
        out += np.asarray(bias, np.float64).reshape(1, -1, 1, 1)
    return out


def deconv2d(x, weight, bias, stride, pad, dilate, adj, groups: int) -> np.ndarray:
    """MXNet's Deconvolution (the transpose of conv2d): weight (C, O/groups, kh, kw); each input value is spread
    over its kernel window, the full result cropped by pad (and extended by adj at the end)."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    n, c, h, w = x.shape
    _, per_group, kh, kw = weight.shape
    full = [(s - 1) * st + d * (k - 1) + 1 for s, st, d, k in zip((h, w), stride, dilate, (kh, kw))]
    size = [f - 2 * p + a for f, p, a in zip(full, pad, adj)]
    canvas = np.zeros((n, groups, per_group, max(full[0], pad[0] + size[0]), max(full[1], pad[1] + size[1])))
    grouped = x.reshape(n, groups, c // groups, h, w)
    kernels = weight.reshape(groups, c // groups, per_group, kh, kw)
    for i in range(kh):
        for j in range(kw):
            spread = np.einsum("ngchw,gco->ngohw", grouped, kernels[:, :, :, i, j])
            _strided(canvas, (i * dilate[0], j * dilate[1]), stride, (h, w))[...] += spread
    out = canvas[..., pad[0]:pad[0] + size[0], pad[1]:pad[1] + size[1]].reshape(n, groups * per_group, *size)
    if bias is not None:
        out = out + np.asarray(bias, np.float64).reshape(1, -1, 1, 1)
    return out


def pool2d(x, kernel, stride, pad, out_size, combine, divisor, empty: float = 0.0) -> np.ndarray:
    """Every output window of MXNet's pooling: rows [i·s − p, i·s − p + k) clipped to the input, combined by
    `combine(window values, axis)`, then divided by `divisor(window rows, window cols, clipped rows, clipped cols)`
    (the lengths before and after clipping to the padded and the real input). A window that holds no input (the
    last ones of MXNet's 'full' convention can) gives `empty`."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[2:]
    out = np.empty(x.shape[:2] + tuple(out_size))
    for i in range(out_size[0]):
        top = i * stride[0] - pad[0]
        bottom = min(top + kernel[0], h + pad[0])
        for j in range(out_size[1]):
            left = j * stride[1] - pad[1]
            right = min(left + kernel[1], w + pad[1])
            rows, cols = (max(top, 0), min(bottom, h)), (max(left, 0), min(right, w))
            window = x[:, :, rows[0]:rows[1], cols[0]:cols[1]].reshape(x.shape[:2] + (-1,))
            if not window.shape[-1]:
                out[:, :, i, j] = empty
                continue
            out[:, :, i, j] = combine(window, -1) / divisor(bottom - top, right - left, rows[1] - rows[0],
                                                            cols[1] - cols[0])
    return out


# Detection post-processing (compiler/ops/detection.py). These run in float32, like the kernels they stand for:
# which boxes survive a threshold or an IoU comparison is decided by exact float32 values, and ties in score are
# broken as each runtime breaks them.

def exp32(x) -> np.ndarray:
    """e^x of float32 values, rounded once to float32 (what a C `expf` returns, to the last bit nearly always)."""
    return np.exp(np.asarray(x, np.float64)).astype(np.float32)


def descending(scores) -> np.ndarray:
    """Positions of `scores` from the highest down, equal scores in their original order: a stable sort, as
    MXNet's CPU SortByKey, caffe-ssd's GetMaxScoreIndex and OpenCV's use (all std::stable_sort)."""
    return np.argsort(-np.asarray(scores), kind="stable")


def quicksort_descending(scores) -> np.ndarray:
    """The order ncnn's `qsort_descent_inplace` leaves its boxes in: a Hoare-partition quicksort on the score,
    pivot the middle element, which is not stable, so equal scores end up in the order this exact procedure gives
    (src/layer/yolov3detectionoutput.cpp)."""
    keys = [float(s) for s in np.asarray(scores, np.float32)]
    order = list(range(len(keys)))
    pending = [(0, len(keys) - 1)] if keys else []
    while pending:
        left, right = pending.pop()
        low, high = left, right
        pivot = keys[(left + right) // 2]
        while low <= high:
            while keys[low] > pivot:
                low += 1
            while keys[high] < pivot:
                high -= 1
            if low <= high:
                keys[low], keys[high] = keys[high], keys[low]
                order[low], order[high] = order[high], order[low]
                low += 1
                high -= 1
        # The two parts are disjoint, so the order in which they are sorted does not change the result.
        if left < high:
            pending.append((left, high))
        if low < right:
            pending.append((low, right))
    return np.asarray(order, np.int64)


def greedy_nms(count: int, suppresses) -> np.ndarray:
    """Greedy non-maximum suppression over candidates 0..count-1 in priority order: each candidate still kept
    removes every later kept candidate p for which `suppresses(ref, p)` (vectorised over an index array p) holds.
    Returns the kept positions in order. This is the same set as comparing each candidate with the ones kept
    before it (caffe-ssd's and ncnn's loop), because every overlap rule here is symmetric."""
    kept = np.ones(count, bool)
    for ref in range(count):
        if not kept[ref]:
            continue
        later = np.flatnonzero(kept[ref + 1:]) + ref + 1
        if later.size:
            kept[later[np.asarray(suppresses(ref, later), bool)]] = False
    return np.flatnonzero(kept)
