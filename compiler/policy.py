"""What a Caffe consumer does differently with the layers it shares with the others: a target's policy. Passes and
emitters read it (never a target's name); the backends pair it with the consumer's dialect (backends/target.py)."""
from __future__ import annotations

import itertools

import attrs

from compiler.ops.detection import BoxCode


# Every order of at most 4 axes that keeps the batch axis first: what caffe2ncnn maps onto ncnn's Permute (it makes
# any other order the identity, silently).
BATCH_FIRST_ORDERS = frozenset((0, *rest) for rank in range(1, 5) for rest in itertools.permutations(range(1, rank)))


@attrs.frozen(kw_only=True)
class TargetPolicy:
    """What a consumer does differently with layers it shares with the others; passes and emitters read it."""
    inplace: bool = True                 # element-wise layers may write into their bottom blob
    average_pool_counts_padding: bool = True   # AVE pooling divides by the padded window (Caffe; not ncnn)
    # The orders the consumer's Permute layer takes (None: any); a transpose of another order is lowered without it
    permute_orders: frozenset[tuple[int, ...]] | None = None
    axis_params: bool = True             # InnerProduct and Scale honour axis/num_axes (ncnn ignores them)
    reshape_batch: bool = True           # Reshape may change the batch axis (caffe2ncnn drops dim 0 of Reshape)
    max_rank: int | None = None          # the largest blob rank the consumer holds (ncnn: 4, the batch included)
    # DetectionOutput code types the consumer decodes (ncnn's layer always decodes CENTER_SIZE)
    detection_codes: tuple[BoxCode, ...] = (BoxCode.CORNER, BoxCode.CENTER_SIZE)
    # PriorBox truncates fractional min_size/max_size to integers (weiliu89 caffe-ssd; OpenCV and ncnn use floats)
    prior_box_truncates_sizes: bool = False
    # Layer types the consumer looks up in the caffemodel by name even when they have no blobs (caffe2ncnn reads
    # a Scale's blob count there, and crashes when the layer is missing: a two-bottom Scale has none)
    weightless_entries: frozenset[str] = frozenset()
    # Global pooling returns a flat (C,) blob, which later layers no longer treat as a (C, 1, 1) image (ncnn: a
    # grouped convolution after it mixed the channels): write the window size instead
    global_pooling_flattens: bool = False
    # Pooling may have a 1×1 window with a stride (rknn-toolkit2 turns Caffe's rounded-up one into an end pad that
    # its ONNX checker rejects: a depthwise 1×1 convolution subsamples instead)
    unit_window_pooling: bool = True
    # Only blobs no layer reads are the network's outputs (rknn-toolkit2 returns those alone): a graph output that
    # other layers also read is copied to a blob of its own
    outputs_unconsumed: bool = False
    # The consumer computes one sample at a time and has no batch axis (ncnn): a layer along it is refused, checked by
    # translating the layers into ncnn's (backends/ncnn_format.py) before any file is written
    samples_apart: bool = False
