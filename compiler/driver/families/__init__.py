"""Model families: everything the compiler knows about one kind of GluonCV network, in one module each — which zoo
names it covers (and how the coverage report groups them), the input it takes by default, the arguments its builder
needs offline, how seeded random weights are tuned for it, what part of it Caffe runs (a decoder cut, the graph's
ending), what the application must still do, and how its converted files are verified.

A family is recognised in exactly one place: by zoo name (`family_named`) through its groups' patterns, or, for a
live Gluon block, by the family's `owns` (`family_of_block`). No two families claim one zoo name (a test checks the
whole zoo). Adding a family is adding a module here (and its test): every module in this package is imported, and
each defines FAMILY.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

import attrs


@attrs.frozen
class Group:
    """A set of zoo names the coverage report counts together: its name, a regular expression over zoo names, and
    its task (the family's, unless the group says otherwise)."""
    name: str
    pattern: str
    task: str | None = None


class Family:
    """The defaults: an image network taking 224×224 RGB (N, 3, H, W), built as it is, converted whole, verified by
    comparing every output tensor. A family module subclasses this and overrides what differs."""
    name = "other"
    task = "other"
    groups: tuple[Group, ...] = ()
    input_hw: tuple[int, int] = (224, 224)
    takes_new_classes = False   # a preset can be given new class names after its build (a fine-tuned detector)
    # Builder arguments that would load weights from the network: every zoo build turns them off where accepted.
    offline_arguments = {"pretrained_base": False, "use_kinetics_pretrain": False}

    # -- which zoo names, and how the coverage report groups them --------------------------------------------------
    def group_of(self, name: str) -> Group | None:
        return next((g for g in self.groups if re.search(g.pattern, name)), None)

    def task_of(self, group: Group) -> str:
        return group.task or self.task

    # -- building it offline ---------------------------------------------------------------------------------------
    def default_input_shape(self, name: str, arguments: dict | None = None) -> tuple[int, int, int, int]:
        """The input the model takes by default; a video model's batch carries its `num_segments` frames."""
        height, width = self.default_input_hw(name)
        return ((arguments or {}).get("num_segments", 1), self.channels(name), height, width)

    def default_input_hw(self, name: str) -> tuple[int, int]:
        return self.input_hw

    def channels(self, name: str) -> int:
        return 3

    def builder_arguments(self, name: str, input_shape) -> dict:
        """Arguments the builder takes (through **kwargs) for this input, beyond the offline ones."""
        return {}

    def refusal(self, name: str) -> str | None:
        """Why the model is not converted at all (checked before it is built), or None."""
        return None

    def set_classes(self, net, classes: list[str], initialize: bool) -> None:
        """Give a built preset new class names, as a training script does before fine-tuning (GluonCV detectors'
        reset_class); `initialize` first (deferred): reset_class reads the predictors' context."""
        if initialize:
            net.initialize()
        net.reset_class(classes)

    def tune(self, net, seed: int, input_shape) -> None:
        """Adjust seeded random weights so that verification compares meaningful values (after BatchNorm
        calibration)."""

    # -- converting it ---------------------------------------------------------------------------------------------
    # The GluonCV class of this family's nets, (module, class name); a live block of it is one of them.
    block_class: tuple[str, str] | None = None

    def owns(self, block) -> bool:
        """Whether a live Gluon block is a net of this family (an instance of block_class)."""
        if self.block_class is None:
            return False
        try:
            cls = getattr(importlib.import_module(self.block_class[0]), self.block_class[1])
        except (ImportError, AttributeError):   # a GluonCV without this family: no block is one
            return False
        return isinstance(block, cls)

    def source(self, block, input_shape, target, options):
        """What the compiler imports for this block on `target` (compiler/driver/sources.py)."""
        from compiler.driver.sources import BlockSource

        return BlockSource(block)


OTHER = Family()


def _load() -> tuple[Family, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        family = importlib.import_module(f"{__name__}.{module.name}").FAMILY
        found.append(family)
    return tuple(found)


FAMILIES: tuple[Family, ...] = _load()


def family_named(name: str) -> Family:
    """The family whose groups cover zoo name `name` (OTHER when none does)."""
    return next((f for f in FAMILIES if f.group_of(name) is not None), OTHER)


def group_of(name: str) -> tuple[str, str]:
    """(group, task) of a zoo name, as the coverage report counts it; ("other", "other") when no family covers it."""
    family = family_named(name)
    group = family.group_of(name)
    return (group.name, family.task_of(group)) if group is not None else ("other", "other")


def families_claiming(name: str) -> list[str]:
    """Every family whose groups match `name` (a test checks that it is at most one for every zoo name)."""
    return [f.name for f in FAMILIES if f.group_of(name) is not None]


def family_of_block(block) -> Family:
    """The family that owns a live Gluon block (OTHER for any other block)."""
    return next((f for f in FAMILIES if f.owns(block)), OTHER)


def known_groups() -> dict[str, str]:
    """Every group name with its task."""
    return {g.name: f.task_of(g) for f in FAMILIES for g in f.groups}


def default_input_shape(name: str, arguments: dict | None = None) -> tuple[int, int, int, int]:
    return family_named(name).default_input_shape(name, arguments)
