"""Pass behaviour end to end: MXNet symbols imported, one pass run, and the conversion verified in a real runtime
(the MXNet-free pass tests are in tests/passes)."""
import mxnet as mx

from compiler.frontend.symbol import import_symbol
from compiler.options import Options
from passes import REGISTRY, PassContext
from backends.target import TargetPolicy
from tests.helpers import random_params


def graph_of(symbol, shapes, seed=0, params=None):
    params = params if params is not None else random_params(symbol, shapes, seed)
    return import_symbol(symbol, params, shapes), params


def target_with(layers=(), **policy):
    """A stand-in target for pass tests: these layer types and this policy (passes read nothing else)."""
    import types

    from backends.target import Target

    return Target(name="test", proto=types.SimpleNamespace(layers=frozenset(layers)), policy=TargetPolicy(**policy))


def context(layers=(), **options) -> PassContext:
    return PassContext(options=Options(**options), target=target_with(layers))


def run(name, graph, **options):
    """Run one pass; check the IR still verifies and that a second run changes nothing."""
    ctx = context(**options)
    result = REGISTRY[name](graph, ctx)
    graph.verify()
    again = REGISTRY[name](graph, context(**options))
    assert again.rewrites == 0, f"{name} is not idempotent"
    return result, ctx


def kinds(graph):
    return [op.kind for op in graph]


def conv(data, name, filters=4, **kwargs):
    return mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=filters, name=name, **kwargs)
