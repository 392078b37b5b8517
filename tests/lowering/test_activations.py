import pytest

mx = pytest.importorskip("mxnet", reason="MXNet (Python ≤ 3.11) builds this test's models and is its reference")
import numpy as np

from tests.helpers import convert_and_compare, layer_types, random_params

SHAPES = {"data": (1, 4, 6, 7)}


@pytest.mark.parametrize("act_type, layers", [
    ("relu", ["ReLU"]), ("sigmoid", ["Sigmoid"]), ("tanh", ["TanH"]), ("softrelu", ["BNLL"]),
    ("softsign", ["AbsVal", "Power", "Eltwise"]),
])
def test_activation(tmp_path, act_type, layers):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv")
    symbol = mx.sym.Activation(conv, act_type=act_type, name="act")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "Convolution", *layers]


@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh"])
def test_standalone_activation_ops(tmp_path, op):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv")
    symbol = getattr(mx.sym, op)(conv, name="act")
    convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)


@pytest.mark.parametrize("kwargs, layer", [
    (dict(act_type="leaky", slope=0.1), "ReLU"),
    (dict(act_type="leaky"), "ReLU"),
    (dict(act_type="elu", slope=0.7), "ELU"),
    (dict(act_type="prelu"), "PReLU"),
    (dict(act_type="rrelu"), "ReLU"),
    (dict(act_type="selu"), "Power"),
], ids=lambda v: str(v))
def test_leaky_relu(tmp_path, kwargs, layer):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv")
    if kwargs["act_type"] == "prelu":
        symbol = mx.sym.LeakyReLU(conv, gamma=mx.sym.var("act_gamma"), name="act", **kwargs)
    else:
        symbol = mx.sym.LeakyReLU(conv, name="act", **kwargs)
        if kwargs["act_type"] == "rrelu":
            symbol = symbol[0]   # the second output is the training mask
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled)[-1] == layer


def test_prelu_with_one_shared_slope(tmp_path):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv")
    symbol = mx.sym.LeakyReLU(conv, gamma=mx.sym.var("act_gamma", shape=(1,)), act_type="prelu", name="act")
    params = random_params(symbol, SHAPES)
    params["act_gamma"] = np.array([0.3], np.float32)
    compiled, _ = convert_and_compare(symbol, params, SHAPES, tmp_path)
    assert (compiled.layers[-1].blobs[0] == 0.3).all() and compiled.layers[-1].blobs[0].shape == (4,)


@pytest.mark.parametrize("axis", [1, -1, 2])
def test_softmax(tmp_path, axis):
    data = mx.sym.var("data")
    symbol = mx.sym.softmax(mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv"), axis=axis,
                            name="prob")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert compiled.net().layer[-1].softmax_param.axis == (axis if axis >= 0 else 3)


def test_softmax_with_temperature(tmp_path):
    data = mx.sym.var("data")
    symbol = mx.sym.softmax(mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv"), axis=1,
                            temperature=2.5, name="prob")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled)[-2:] == ["Power", "Softmax"]


@pytest.mark.parametrize("mode, axis", [("channel", 1), ("instance", 3)])
def test_softmax_activation(tmp_path, mode, axis):
    data = mx.sym.var("data")
    symbol = mx.sym.SoftmaxActivation(mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv"),
                                      mode=mode, name="prob")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert compiled.net().layer[-1].softmax_param.axis == axis


def test_softmax_output_on_2d_data_ignores_its_label(tmp_path):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=10, name="fc")
    symbol = mx.sym.SoftmaxOutput(fc, name="softmax")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert layer_types(compiled) == ["Input", "InnerProduct", "Softmax"]


def test_softmax_output_on_4d_data_is_ambiguous():
    from compiler.errors import UnsupportedOp
    from compiler.frontend.symbol import import_symbol

    data = mx.sym.var("data")
    symbol = mx.sym.SoftmaxOutput(mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv"), name="sm")
    with pytest.raises(UnsupportedOp, match="multi_output"):
        import_symbol(symbol, random_params(symbol, SHAPES), SHAPES)


def test_softmax_output_multi_output(tmp_path):
    data = mx.sym.var("data")
    symbol = mx.sym.SoftmaxOutput(mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, name="conv"),
                                  multi_output=True, name="sm")
    compiled, _ = convert_and_compare(symbol, random_params(symbol, SHAPES), SHAPES, tmp_path)
    assert compiled.net().layer[-1].softmax_param.axis == 1
