"""Weights in the IR: constants view a file's float32 arrays without copies; a live block's parameters are copied
out of MXNet, whose kernels change their buffers."""
import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from compiler.ir.graph import Graph


def test_imported_weights_keep_their_values_when_mxnet_runs_the_model_afterwards():
    """MXNet's oneDNN kernels reorder conv weights in place on a forward pass: the IR's weights must be its own."""
    from compiler.driver.zoo import random_zoo_model
    from compiler.frontend import import_block

    shape = (1, 3, 64, 64)
    net = random_zoo_model("resnet18_v1", 0, shape)
    x = mx.nd.array(np.random.RandomState(0).standard_normal(shape))
    net(x).wait_to_read()
    graph = import_block(net, shape)
    before = {v.name: np.array(v.const) for v in graph.constants.values()}
    for _ in range(2):
        net(x).wait_to_read()
    assert all(np.array_equal(before[v.name], v.const) for v in graph.constants.values())


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int32"])
def test_parameter_arrays_are_read_only_copies(dtype):
    from compiler.frontend import parameter_array

    array = mx.nd.array(np.arange(6).reshape(2, 3), dtype=dtype)
    copy = parameter_array(array)
    array[:] = 7
    assert copy.dtype == np.dtype(dtype) and (copy == np.arange(6).reshape(2, 3)).all() and not copy.flags.writeable


def test_an_ir_constant_views_a_float32_array_and_cannot_be_written():
    weights = np.ones((4, 4), np.float32)
    value = Graph("g").constant(weights, "w")
    assert np.shares_memory(value.const, weights) and not value.const.flags.writeable
    converted = Graph("g").constant(np.ones((2, 2)), "w64")   # float64 → a float32 copy
    assert converted.const.dtype == np.float32


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_finite_check_sees_one_bad_value_among_large_finite_ones(bad):
    """The check is one float64 sum: large finite float32 values never overflow it, one NaN/Inf always shows."""
    from compiler.errors import ParamError
    from compiler.frontend.symbol import import_symbol

    data = mx.sym.var("data")
    symbol = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    weight = np.full((4, 8), 3e38, np.float32)
    params = {"fc_weight": weight, "fc_bias": np.zeros(4, np.float32)}
    import_symbol(symbol, params, {"data": (1, 8)})   # 32 · 3e38 overflows float32, not float64
    weight[2, 5] = bad
    with pytest.raises(ParamError, match="fc_weight.*NaN or Inf"):
        import_symbol(symbol, params, {"data": (1, 8)})


def test_all_finite_is_exact_where_the_sum_of_squares_overflows():
    from compiler.frontend.symbol import all_finite

    huge = np.full(1000, 1e30, np.float32)   # x·x overflows float32: the exact test must decide
    assert all_finite(huge)
    huge[500] = np.inf
    assert not all_finite(huge)
    assert all_finite(np.arange(5)) and all_finite(np.zeros(0, np.float32))
    assert not all_finite(np.array([1.0, np.nan], np.float16))


def test_owned_parameters_are_what_collect_params_returns_shared_ones_included():
    from gluoncv import model_zoo
    from mxnet.gluon import nn

    from compiler.frontend import owned_parameters

    class Shared(mx.gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.first = nn.Dense(4, in_units=4)
                self.second = nn.Dense(4, in_units=4, params=self.first.params)   # the same weights twice
                self.body = nn.HybridSequential()
                self.body.add(nn.Conv2D(2, 3, in_channels=4), nn.BatchNorm(in_channels=2))

        def hybrid_forward(self, F, x):
            return self.second(self.first(x))

    for net in (Shared(), model_zoo.get_model("resnet18_v1b", pretrained=False)):
        expected = {p.name: p for p in net.collect_params().values()}
        got = owned_parameters(net)
        assert len(got) == len(expected) and all(expected[p.name] is p for p in got)
