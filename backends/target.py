"""A target is data: the consumer's dialect (schema and layer types), its policy (compiler/policy.py: what passes
read too), the passes it drops, and the files it writes."""
from __future__ import annotations

import attrs

from compiler.policy import TargetPolicy  # noqa: F401  (a target's policy; re-exported for the backends)


@attrs.frozen
class FileFormat:
    """The pair of files a target writes: one with the layers, one with the weights."""
    name: str
    structure: str    # the suffix of the layers' file
    weights: str      # the suffix of the weights' file
    ncnn: bool = False   # ncnn's own files, translated from the emitted Caffe layers (else Caffe's)

    def paths(self, prefix: str) -> tuple[str, str]:
        return prefix + self.structure, prefix + self.weights


CAFFE_FILES = FileFormat("caffe", ".prototxt", ".caffemodel")
# ncnn's own .param text and .bin weights, translated from the ncnn dialect's layers (backends/ncnn_format.py)
NCNN_FILES = FileFormat("ncnn", ".param", ".bin", ncnn=True)


@attrs.frozen(kw_only=True)
class Target:
    name: str
    proto: object                        # backends.schema.Dialect: the message classes the writer may use
    policy: TargetPolicy = TargetPolicy()
    dropped_passes: tuple[str, ...] = ()   # passes of the canonical order (passes.ORDER) this target never runs
    description: str = ""
    files: FileFormat = CAFFE_FILES

    @property
    def layers(self) -> frozenset[str]:
        return self.proto.layers

    def can_permute(self, order) -> bool:
        """Whether this consumer's Permute layer takes `order` (policy.permute_orders)."""
        orders = self.policy.permute_orders
        return "Permute" in self.layers and (orders is None or tuple(order) in orders)
