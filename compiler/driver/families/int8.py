"""GluonCV's quantised (int8) networks: their quantize/requantize ops compute integer arithmetic no Caffe layer
does; the frontend refuses them by node. They are built like their float network (its input, its builder's size
arguments)."""
from __future__ import annotations

from compiler.driver.families import Family, Group

SUFFIX = "_int8"


def _float(name: str) -> Family:
    from compiler.driver.families import family_named

    return family_named(name.removesuffix(SUFFIX))


class Int8(Family):
    name = "int8"
    task = "int8"
    groups = (Group("int8", SUFFIX + "$"),)

    def default_input_shape(self, name: str, arguments: dict | None = None) -> tuple[int, int, int, int]:
        return _float(name).default_input_shape(name.removesuffix(SUFFIX), arguments)

    def builder_arguments(self, name: str, input_shape) -> dict:
        return _float(name).builder_arguments(name.removesuffix(SUFFIX), input_shape)


FAMILY = Int8()
