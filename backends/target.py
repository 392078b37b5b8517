"""A target is data: the consumer's proto schema, the layer types it runs, its policy and its pass pipeline."""
from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class TargetPolicy:
    """The part of a target that passes and emitters may read."""
    inplace: bool = True                 # element-wise layers may write into their bottom blob
    non_negative_axes: bool = True       # axes are written counting from 0
    average_pool_counts_padding: bool = True   # AVE pooling divides by the padded window (Caffe; not ncnn)
    permute_any_order: bool = True       # Permute takes any order (ncnn: 4-D with the batch axis first only)
    axis_params: bool = True             # InnerProduct and Scale honour axis/num_axes (ncnn ignores them)


@attrs.frozen(kw_only=True)
class Target:
    name: str
    proto: object                        # generated module of our proto subset for this consumer
    layers: frozenset[str]
    policy: TargetPolicy = TargetPolicy()
    pipeline: tuple[str, ...] = ()
    description: str = ""

    def extend(self, *, name: str, proto=None, layers=(), policy=None, pipeline=None, description=""):
        return Target(name=name, proto=proto or self.proto, layers=self.layers | frozenset(layers),
                      policy=policy or self.policy, pipeline=tuple(pipeline or self.pipeline),
                      description=description)
