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
    out = np.zeros((n, groups, out_channels // groups, *size))
    for i in range(kh):
        for j in range(kw):
            window = _strided(grouped, (i * dilate[0], j * dilate[1]), stride, size)
            out += np.einsum("ngchw,goc->ngohw", window, kernels[:, :, :, i, j])
    out = out.reshape(n, out_channels, *size)
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
