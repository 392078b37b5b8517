"""The one error tree: every message names the node, the op, the attribute at fault and what to do."""
from __future__ import annotations


class ConversionError(Exception):
    """Base of every error the compiler raises on purpose (the CLI prints it and exits 2)."""

    def __init__(self, message: str, *, node: str | None = None, op: str | None = None,
                 attribute: str | None = None, hint: str | None = None):
        self.node, self.op, self.attribute, self.hint = node, op, attribute, hint
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.node is not None:
            where.append(f"node '{self.node}'")
        if self.op is not None:
            where.append(f"op {self.op}")
        if self.attribute is not None:
            where.append(f"attribute '{self.attribute}'")
        text = (", ".join(where) + ": " if where else "") + self.detail
        if self.hint:
            text += f" -> {self.hint}"
        return text


class UnsupportedOp(ConversionError):
    """An MXNet op, or an op/attribute combination, that has no exact lowering."""


class NeedsOtherTarget(UnsupportedOp):
    """A model that converts, exactly, only for targets whose dialect has layers this one lacks by design (an SSD's
    PriorBox and DetectionOutput on BVLC Caffe): not a gap in the converter, a choice of target."""


class BadAttribute(ConversionError):
    """An attribute string that does not parse, or a value outside what the op allows."""


class ShapeMismatch(ConversionError):
    """Shapes that disagree: between our shape rules and MXNet's, or between operands."""


class ParamError(ConversionError):
    """A missing, unused, mis-shaped or unreadable parameter."""


class BadModel(ConversionError):
    """A model file that is not a readable MXNet symbol graph."""


class IRVerificationError(ConversionError):
    """The IR broke one of its invariants (a compiler bug, or a pass that did)."""


class IllegalForTarget(ConversionError):
    """Ops the chosen backend cannot emit; lists every offending op."""


class NoReference(ConversionError):
    """An op the NumPy interpreter cannot compute: its kind defines no `evaluate`, or its value is not defined
    (random, as Dropout in mode 'always')."""


class PassFailed(ConversionError):
    """An unexpected exception inside a pass, with the pass history attached."""


class OutputError(ConversionError):
    """The output files cannot be written."""


class VerificationFailed(ConversionError):
    """The converted model's numbers differ from MXNet's beyond tolerance."""
