"""A target is data: the consumer's dialect (schema and layer types), its policy (compiler/policy.py: what passes
read too), and the passes it drops."""
from __future__ import annotations

import attrs

from compiler.policy import TargetPolicy  # noqa: F401  (a target's policy; re-exported for the backends)


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
        """Whether this consumer's Permute layer takes `order` (policy.permute_orders)."""
        orders = self.policy.permute_orders
        return "Permute" in self.layers and (orders is None or tuple(order) in orders)
