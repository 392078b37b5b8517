import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")

from compiler.errors import IllegalForTarget
from compiler.frontend.symbol import import_symbol
from tests.helpers import available_runtimes, computes_samples_apart, convert_and_compare, layer_types, random_params

SHAPES = {"data": (2, 4, 5, 6)}


def _conv(data, name="conv", filters=4):
    return mx.sym.Convolution(data, kernel=(1, 1), num_filter=filters, name=name)


@pytest.mark.parametrize("op", ["elemwise_add", "broadcast_add", "add_n", "plus"])
def test_addition(tmp_path, op):
    data = mx.sym.var("data")
    a, b = _conv(data, "a"), _conv(data, "b")
    symbol = {"elemwise_add": lambda: mx.sym.elemwise_add(a, b, name="sum"),
              "broadcast_add": lambda: mx.sym.broadcast_add(a, b, name="sum"),
              "add_n": lambda: mx.sym.add_n(a, b, _conv(data, "c"), name="sum"),
              "plus": lambda: a + b}[op]()
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled)[-1] == "Eltwise"


def test_broadcast_add_of_two_data_tensors_repeats_the_smaller(tmp_path):
    data = mx.sym.var("data")
    symbol = mx.sym.broadcast_add(_conv(data), mx.sym.mean(_conv(data, "c2"), axis=(2, 3), keepdims=True), name="sum")
    convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


def test_broadcast_add_over_a_large_map_spreads_the_value_by_deconvolution(tmp_path):
    """Repeating a (N, C, 1, 1) value over a 40×40 map: a grouped Deconvolution with a 40×40 kernel of ones, not
    1600 copies."""
    data = mx.sym.var("data")
    symbol = mx.sym.broadcast_add(_conv(data), mx.sym.mean(_conv(data, "c2"), axis=(2, 3), keepdims=True), name="sum")
    shapes = {"data": (1, 3, 40, 40)}
    for target in ("caffe", "ncnn"):
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        assert "Deconvolution" in layer_types(compiled) and "Concat" not in layer_types(compiled)


@pytest.mark.parametrize("flatten, no_bias", [(True, False), (True, True), (False, False)])
def test_fully_connected(tmp_path, flatten, no_bias):
    data = mx.sym.var("data")
    symbol = mx.sym.FullyConnected(data, num_hidden=7, flatten=flatten, no_bias=no_bias, name="fc")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    ip = compiled.net().layer[1].inner_product_param
    assert ip.axis == (1 if flatten else 3) and ip.bias_term == (not no_bias)


def test_flatten(tmp_path):
    symbol = mx.sym.Flatten(_conv(mx.sym.var("data")), name="flat")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", "Flatten"]


@pytest.mark.parametrize("dim", [1, -1, 2])
def test_concat(tmp_path, dim):
    data = mx.sym.var("data")
    symbol = mx.sym.concat(_conv(data, "a", 3), _conv(data, "b", 3), dim=dim, name="cat")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert compiled.net().layer[-1].concat_param.axis == (dim if dim >= 0 else 3)


@pytest.mark.parametrize("kwargs", [dict(p=0.5), dict(p=0.0)])
def test_dropout_is_removed(tmp_path, kwargs):
    symbol = mx.sym.relu(mx.sym.Dropout(_conv(mx.sym.var("data")), name="drop", **kwargs), name="relu")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", "ReLU"]


def test_dropout_always_is_refused(tmp_path):
    symbol = mx.sym.relu(mx.sym.Dropout(_conv(mx.sym.var("data")), mode="always", name="drop"), name="relu")
    with pytest.raises(IllegalForTarget, match="drop"):
        convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


@pytest.mark.parametrize("op", ["identity", "BlockGrad", "stop_gradient"])
def test_identities_are_removed(tmp_path, op):
    inner = getattr(mx.sym, op)(_conv(mx.sym.var("data")), name="same")
    symbol = mx.sym.relu(inner, name="relu")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", "ReLU"]


@pytest.mark.parametrize("shape, reverse, expected", [
    ((0, -1), False, (2, 120)),
    ((-1, 0), False, (60, 4)),
    ((0, 0, -3), False, (2, 4, 30)),
    ((-3, -2), False, (8, 5, 6)),
    ((0, -4, 2, -1, -2), False, (2, 2, 2, 5, 6)),
    ((0, -1, 1, 1), False, (2, 120, 1, 1)),
    ((-1, 0), True, (40, 6)),
    ((-2,), False, (2, 4, 5, 6)),
])
def test_reshape_codes_are_resolved_statically(tmp_path, shape, reverse, expected):
    inner = mx.sym.Reshape(_conv(mx.sym.var("data")), shape=shape, reverse=reverse, name="reshape")
    symbol = mx.sym.relu(inner, name="relu")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert compiled.graph.outputs[0].type.shape == expected
    reshapes = [layer for layer in compiled.layers if layer.type == "Reshape"]
    if expected != SHAPES["data"]:
        assert reshapes[0].params["reshape_param"]["shape"]["dim"] == list(expected)
    else:
        assert not reshapes


def test_transpose_of_size_one_axes_becomes_a_reshape(tmp_path):
    data = mx.sym.var("data")
    pooled = mx.sym.Pooling(_conv(data), global_pool=True, kernel=(1, 1), pool_type="avg", name="gap")
    symbol = mx.sym.Flatten(mx.sym.transpose(pooled, axes=(0, 2, 1, 3), name="t"), name="flat")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert "Reshape" in layer_types(compiled)


def test_identity_transpose_is_removed(tmp_path):
    symbol = mx.sym.relu(mx.sym.transpose(_conv(mx.sym.var("data")), axes=(0, 1, 2, 3), name="t"), name="r")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", "ReLU"]


def test_small_moving_transpose_is_a_permutation_on_vanilla_caffe(tmp_path):
    symbol = mx.sym.relu(mx.sym.transpose(_conv(mx.sym.var("data")), axes=(0, 2, 3, 1), name="t"), name="r")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert "Permute" not in layer_types(compiled) and "Convolution" in layer_types(compiled)[2:]


def test_transpose_of_the_batch_axis_needs_a_permute_target(tmp_path):
    symbol = mx.sym.transpose(_conv(mx.sym.var("data")), axes=(1, 0, 2, 3), name="t")
    with pytest.raises(IllegalForTarget, match="t \\(transpose\\)"):
        convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


def test_multiple_inputs_and_outputs(tmp_path):
    a, b = mx.sym.var("image"), mx.sym.var("mask")
    conv = mx.sym.Convolution(a, kernel=(3, 3), pad=(1, 1), num_filter=4, name="conv")
    total = mx.sym.elemwise_add(conv, mx.sym.Convolution(b, kernel=(1, 1), num_filter=4, name="conv_b"), name="sum")
    symbol = mx.sym.Group([mx.sym.relu(total, name="relu"), mx.sym.Pooling(total, kernel=(2, 2), stride=(2, 2),
                                                                         name="pool")])
    shapes = {"image": (1, 3, 8, 8), "mask": (1, 2, 8, 8)}
    compiled, comparisons = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path)
    assert len(comparisons) == 2 * len(available_runtimes()) and compiled.input_names == ["image", "mask"]


def test_shape_rule_disagreement_names_the_node():
    data = mx.sym.var("data")
    symbol = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    params = random_params(symbol, SHAPES)
    params["conv_weight"] = params["conv_weight"][:, :2]
    with pytest.raises(Exception, match="conv_weight"):
        import_symbol(symbol, params, SHAPES)



@pytest.mark.parametrize("build, shape", [
    (lambda x: mx.sym.expand_dims(x, axis=0), (2, 4)),
    (lambda x: mx.sym.expand_dims(x, axis=-1), (2, 4)),
    (lambda x: mx.sym.expand_dims(x, axis=2), (2, 4, 5, 6)),
    (lambda x: mx.sym.squeeze(x), (1, 4, 1, 1)),
    (lambda x: mx.sym.squeeze(x, axis=(2, 3)), (2, 4, 1, 1)),
    (lambda x: mx.sym.squeeze(x, axis=-1), (2, 4, 3, 1)),
    (lambda x: mx.sym.squeeze(mx.sym.expand_dims(x, axis=1), axis=1), (2, 4, 5, 6)),
])
def test_expand_dims_and_squeeze(tmp_path, build, shape):
    data = mx.sym.var("data")
    symbol = mx.sym.relu(build(mx.sym.relu(data, name="pre")), name="post")
    shapes = {"data": shape}
    for target in ("caffe", "caffe-ssd", "ncnn", "ncnn-native"):
        # A 5-D result cannot be held in ncnn; a 5-D value in between is bypassed (lower_rank).
        if target.startswith("ncnn") and len(symbol.infer_shape(**shapes)[1][0]) > 4:
            with pytest.raises(IllegalForTarget, match="at most 4 dims"):
                convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
            continue
        # a new or removed leading axis moves the batch, which ncnn (one sample at a time) has not
        if computes_samples_apart(target) and symbol.infer_shape(**shapes)[1][0][0] != shape[0]:
            with pytest.raises(IllegalForTarget, match="batch axis"):
                convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
            continue
        compiled, _ = convert_and_compare(symbol, random_params(symbol, shapes), shapes, tmp_path, target=target)
        reshapes = [layer for layer in compiled.layers if layer.type == "Reshape"]
        if compiled.graph.outputs[0].type.shape != shape:   # (ncnn bypasses squeeze(expand_dims) altogether)
            assert reshapes[-1].params["reshape_param"]["shape"]["dim"] == list(compiled.graph.outputs[0].type.shape)


def test_squeeze_of_an_axis_that_is_not_one_is_refused():
    data = mx.sym.var("data")
    symbol = mx.sym.squeeze(data, axis=1)
    with pytest.raises(Exception, match="squeeze|size 1|shape"):
        import_symbol(symbol, {}, {"data": (2, 4)})
