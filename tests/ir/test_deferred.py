"""Folded weights stay deferred until read: the values, in any blocking, are each weight's float64 product
rounded once to float32, and the file written from the blocks equals the file written from the whole array."""
import io

import numpy as np
import pytest

from compiler.ir import deferred
from compiler.ir.deferred import ScaledArray, scaled_float32
from tests.needs import needs_mxnet


def _reference(weight, factor):
    """The float64 product rounded once, computed the plain way (a whole float64 temporary)."""
    return (weight.astype(np.float64) * np.asarray(factor, np.float64)).astype(np.float32)


SHAPES = [((6, 5, 3, 3), (6, 1, 1, 1)), ((7, 11), (7, 1)), ((2, 3, 4, 5), ()), ((4, 1, 3, 1, 1), (4, 1, 3, 1, 1)),
          ((1, 9, 2), (1, 9, 1)), ((13,), (13,))]


@pytest.mark.parametrize("weight_shape,factor_shape", SHAPES)
@pytest.mark.parametrize("block", [1, 5, 64, 1 << 17])
def test_every_blocking_gives_the_rounded_float64_product(monkeypatch, weight_shape, factor_shape, block):
    monkeypatch.setattr(deferred, "BLOCK_ELEMENTS", block)
    rng = np.random.default_rng(3)
    weight = rng.standard_normal(weight_shape).astype(np.float32)
    factor = rng.standard_normal(factor_shape) * 3.7
    expected = _reference(weight, factor)
    lazy = ScaledArray(weight, factor)
    blocks = [block_values.copy() for block_values in lazy.blocks()]   # each block's buffer is reused
    assert all(b.size <= block for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), expected.reshape(-1))
    np.testing.assert_array_equal(np.asarray(lazy), expected)
    assert lazy.shape == expected.shape and lazy.dtype == np.float32 and lazy.nbytes == expected.nbytes


def test_it_behaves_as_the_array_it_stands_for():
    weight = np.arange(24, dtype=np.float32).reshape(4, 6)
    lazy = ScaledArray(weight, np.array([1.0, 2.0, 0.5, -1.0]).reshape(4, 1))
    expected = _reference(weight, np.array([1.0, 2.0, 0.5, -1.0]).reshape(4, 1))
    np.testing.assert_array_equal(lazy[1], expected[1])
    assert ((lazy == expected).all() and (lazy + 1 == expected + 1).all() and lazy.astype(np.float64).dtype
            == np.float64 and lazy.tolist() == expected.tolist() and len(lazy) == 4)
    flat = lazy.reshape(-1)
    assert isinstance(flat, ScaledArray) and flat.shape == (24,)
    np.testing.assert_array_equal(np.asarray(flat), expected.reshape(-1))
    assert not np.asarray(lazy).flags.writeable


def test_a_factor_that_would_grow_the_weight_is_computed_at_once():
    weight = np.ones((3, 1), np.float32)
    out = scaled_float32(weight, np.arange(4.0).reshape(1, 4))
    assert isinstance(out, np.ndarray) and out.shape == (3, 4)
    np.testing.assert_array_equal(out, _reference(weight, np.arange(4.0).reshape(1, 4)))
    with pytest.raises(ValueError, match="broadcast"):
        ScaledArray(weight, np.arange(4.0).reshape(1, 4))


@needs_mxnet
def test_fold_batchnorm_keeps_the_model_weights_and_defers_the_product():
    """The folded convolution weight is a ScaledArray over the model's own weight buffer (no copy in the IR), the
    verifier accepts it without computing it, and .const gives the rounded float64 product."""
    import mxnet as mx

    from compiler.frontend.symbol import import_symbol
    from compiler.options import Options
    from compiler.driver.api import run_passes

    rng = np.random.default_rng(0)
    x = mx.sym.var("data")
    y = mx.sym.BatchNorm(mx.sym.Convolution(x, kernel=(3, 3), num_filter=8, no_bias=True, name="c"), name="bn",
                         fix_gamma=False)
    params = {"c_weight": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
              "bn_gamma": rng.uniform(0.5, 2, 8).astype(np.float32), "bn_beta": rng.standard_normal(8).astype(np.float32),
              "bn_moving_mean": rng.standard_normal(8).astype(np.float32),
              "bn_moving_var": rng.uniform(0.5, 2, 8).astype(np.float32)}
    graph = import_symbol(y, params, {"data": (1, 3, 8, 8)})
    run_passes(graph, "caffe", Options(merge_bn=True))
    weight = graph.ops_of("Convolution")[0].operands[1]
    assert isinstance(weight.data, ScaledArray) and np.shares_memory(weight.data.source, params["c_weight"])
    graph.verify()
    assert isinstance(weight.data, ScaledArray)   # verifying did not compute it
    scale = params["bn_gamma"].astype(np.float64) / np.sqrt(params["bn_moving_var"].astype(np.float64) + 1e-3)
    np.testing.assert_array_equal(weight.const, _reference(params["c_weight"], scale.reshape(8, 1, 1, 1)))
    assert isinstance(weight.data, np.ndarray)   # read once, kept


def test_the_caffemodel_streamed_from_blocks_equals_the_one_from_whole_arrays(monkeypatch):
    """write_to computes the next block on a second thread while it writes one; the file must be the same bytes
    as bytes() and as the caffemodel of the same layers holding computed arrays."""
    from backends import get_target
    from backends.emitters import Layer
    from backends.writer import CaffeWeights

    monkeypatch.setattr(deferred, "BLOCK_ELEMENTS", 7)   # many blocks, rows split across blocks
    rng = np.random.default_rng(1)
    lazy = [ScaledArray(rng.standard_normal((5, 4, 3, 3)).astype(np.float32), rng.standard_normal((5, 1, 1, 1))),
            ScaledArray(rng.standard_normal((3, 10)).astype(np.float32), rng.standard_normal((3, 1)))]
    plain = rng.standard_normal(5).astype(np.float32)
    layers = [Layer("conv", "Convolution", ["data"], ["conv"], {}, [lazy[0], plain], "conv"),
              Layer("fc", "InnerProduct", ["conv"], ["fc"], {}, [lazy[1]], "fc")]
    computed = [Layer(l.name, l.type, l.bottoms, l.tops, l.params, [np.asarray(b) for b in l.blobs], l.source)
                for l in layers]
    target = get_target("caffe")
    streamed = io.BytesIO()
    CaffeWeights(layers, target, "net").write_to(streamed)
    whole = bytes(CaffeWeights(computed, target, "net"))
    assert streamed.getvalue() == bytes(CaffeWeights(layers, target, "net")) == whole
    assert CaffeWeights(layers, target, "net").nbytes() == len(whole)
    parsed = target.proto.NetParameter()
    parsed.ParseFromString(whole)
    np.testing.assert_array_equal(np.array(parsed.layer[0].blobs[0].data, np.float32), np.asarray(lazy[0]).reshape(-1))
