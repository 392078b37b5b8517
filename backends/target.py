"""A target is data: the consumer's dialect (schema and layer types), its policy, and the passes it drops."""
from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class TargetPolicy:
    """What a consumer does differently with layers it shares with the others; passes and emitters read it."""
    inplace: bool = True                 # element-wise layers may write into their bottom blob
    average_pool_counts_padding: bool = True   # AVE pooling divides by the padded window (Caffe; not ncnn)
    permute_any_order: bool = True       # Permute takes any order (ncnn: 4-D with the batch axis first only)
    axis_params: bool = True             # InnerProduct and Scale honour axis/num_axes (ncnn ignores them)
    reshape_batch: bool = True           # Reshape may change the batch axis (caffe2ncnn drops dim 0 of Reshape)
    max_rank: int | None = None          # the largest blob rank the consumer holds (ncnn: 4, the batch included)
    # DetectionOutput code types the consumer decodes (ncnn's layer always decodes CENTER_SIZE)
    detection_codes: tuple[str, ...] = ("CORNER", "CENTER_SIZE")
    # PriorBox truncates fractional min_size/max_size to integers (weiliu89 caffe-ssd; OpenCV and ncnn use floats)
    prior_box_truncates_sizes: bool = False
    # Layer types the consumer looks up in the caffemodel by name even when they have no blobs (caffe2ncnn reads
    # a Scale's blob count there, and crashes when the layer is missing: a two-bottom Scale has none)
    weightless_entries: frozenset[str] = frozenset()
    # Global pooling returns a flat (C,) blob, which later layers no longer treat as a (C, 1, 1) image (ncnn: a
    # grouped convolution after it mixed the channels): write the window size instead
    global_pooling_flattens: bool = False


@attrs.frozen(kw_only=True)
class Target:
    name: str
    proto: object                        # backends.schema.Dialect: the message classes the writer may use
    policy: TargetPolicy = TargetPolicy()
    dropped_passes: tuple[str, ...] = ()   # passes of the canonical order (passes.ORDER) this target never runs
    description: str = ""

    @property
    def layers(self) -> frozenset[str]:
        return self.proto.layers

    def can_permute(self, order) -> bool:
        """Whether this consumer's Permute layer computes `order` (caffe2ncnn maps only 4-D batch-first orders and
        silently makes any other one the identity)."""
        order = tuple(order)
        if "Permute" not in self.layers:
            return False
        return self.policy.permute_any_order or (len(order) <= 4 and order[0] == 0)
