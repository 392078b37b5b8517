"""Repeating a value by exact layers (not a pass itself): the lowerings of broadcasting arithmetic, tile and
broadcast_to share it.

Every consumer runs these forms, and each output element is one input element times 1.0:
- along the channels of 4-D data (C = 1 → C'): a 1×1 Convolution with C' outputs and unit weights;
- along H and/or W of 4-D data (size 1 → H', W'): a Deconvolution grouped by channel, stride 1, whose unit kernel
  spans the new size (a transposed convolution spreads each input value over its kernel window);
- along any other axis, or for data of rank 5 and more: a Concat of copies, at most MAX_COPIES of them (data of rank
  2 or 3 is viewed as 4-D first).
A constant that must become a blob (a Caffe layer takes data operands as blobs) is the bias of an InnerProduct with
zero weights, fed the global average of one channel of some data value: 0·x + b = b for finite x."""
from __future__ import annotations

import math

import numpy as np

from compiler.ops import Concat, Convolution, Deconvolution, FullyConnected, Pooling, Reshape, SliceAxis

# Repeating a blob by Concat of copies: beyond this many copies the net would grow more than the op is worth.
MAX_COPIES = 1024


def copies_needed(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """How often each axis of `shape` repeats to make out_shape (1 where it is whole); None when the ranks differ
    or an axis is neither whole nor 1."""
    if len(shape) != len(out_shape) or any(d not in (1, o) for d, o in zip(shape, out_shape)):
        return None
    return tuple(o if d == 1 else 1 for d, o in zip(shape, out_shape))


def repeated(graph, value, out_shape: tuple[int, ...], name: str, origin):
    """`value` repeated along its size-1 axes to `out_shape` (a rank-matching, NumPy-broadcastable shape), by the
    exact layers above; None when it would take more than MAX_COPIES copies along the axes only Concat repeats."""
    shape = value.type.shape
    copies = copies_needed(shape, out_shape)
    if copies is None:
        return None
    if len(shape) in (2, 3) and any(count > 1 for count in copies[1:]):
        # (N, K) and (N, K, L) are viewed as 4-D images, whose axes the layers below repeat
        view = shape + (1,) * (4 - len(shape))
        flat = graph.add(Reshape(shape=view), value, name=f"{name}_image", origin=origin).result
        grown = repeated(graph, flat, out_shape + (1,) * (4 - len(shape)), name, origin)
        return None if grown is None else graph.add(Reshape(shape=out_shape), grown, name=f"{name}_back",
                                                    origin=origin).result
    layered = {1, 2, 3} if len(shape) == 4 else set()
    concatenated = [(axis, count) for axis, count in enumerate(copies) if count > 1 and axis not in layered]
    if math.prod(count for _, count in concatenated) > MAX_COPIES:
        return None
    for axis, count in concatenated:
        value = graph.add(Concat(dim=axis), *[value] * count, name=f"{name}_tile{axis}", origin=origin).result
    if len(shape) != 4:
        return value
    n, channels, h, w = value.type.shape
    if copies[1] > 1:
        ones = graph.constant(np.ones((copies[1], 1, 1, 1), np.float32), f"{name}_channel_ones")
        value = graph.add(Convolution(num_filter=copies[1], kernel=1), value, ones, name=f"{name}_channels",
                          origin=origin).result
        channels = copies[1]
    if copies[2] > 1 or copies[3] > 1:
        kernel = (copies[2], copies[3])
        ones = graph.constant(np.ones((channels, 1, *kernel), np.float32), f"{name}_plane_ones")
        value = graph.add(Deconvolution(num_filter=channels, kernel=kernel, num_group=channels), value, ones,
                          name=f"{name}_planes", origin=origin).result
    return value


def constant_blob(graph, values: np.ndarray, like, name: str, origin):
    """`values` (one sample's shape, float64 or float32) as a blob of shape (N, *values.shape) with N the batch of
    the data value `like`: the bias of a zero-weight InnerProduct on the global average of one channel of `like`,
    reshaped."""
    seed = like
    if seed.type.rank != 4:
        planes = (seed.type.shape[0], int(np.prod(seed.type.shape[1:])), 1, 1)
        seed = graph.add(Reshape(shape=planes), seed, name=f"{name}_seed_planes", origin=origin).result
    if seed.type.shape[1] > 1:
        seed = graph.add(SliceAxis(axis=1, begin=0, end=1), seed, name=f"{name}_seed_channel", origin=origin).result
    seed = graph.add(Pooling(global_pool=True, pool_type="avg", kernel=(1, 1)), seed, name=f"{name}_seed",
                     origin=origin).result
    flat = np.asarray(values, np.float64).reshape(-1)
    zeros = graph.constant(np.zeros((flat.size, 1)), f"{name}_zeros")
    filled = graph.add(FullyConnected(num_hidden=flat.size), seed, zeros, graph.constant(flat, f"{name}_values"),
                       name=f"{name}_values", origin=origin).result
    return graph.add(Reshape(shape=(like.type.shape[0], *values.shape)), filled, name=f"{name}_blob",
                     origin=origin).result
