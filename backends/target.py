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
