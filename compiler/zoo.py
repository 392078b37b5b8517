"""GluonCV model-zoo networks with seeded random weights and calibrated-then-perturbed BatchNorm statistics."""
from __future__ import annotations

import numpy as np

from compiler.errors import BadModel

_INPUT_SIZE = {"inception": 299}


def default_input_shape(name: str) -> tuple[int, int, int, int]:
    size = next((s for key, s in _INPUT_SIZE.items() if key in name), 224)
    return (1, 3, size, size)


def get_zoo_model(name: str):
    from gluoncv import model_zoo

    try:
        return model_zoo.get_model(name, pretrained=False)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise BadModel(f"'{name}' is not a GluonCV model-zoo name ({type(exc).__name__}: {str(exc)[:200]})",
                       hint="see gluoncv.model_zoo.get_model_list(), or pass a *-symbol.json path") from None


def _batchnorm_blocks(net):
    from mxnet.gluon import nn

    found = []

    def visit(block):
        if isinstance(block, nn.BatchNorm):
            found.append(block)
    net.apply(visit)
    return found


def randomize(net, seed: int, input_shape, calibration_batch: int = 4, max_passes: int = 30):
    """Seeded random weights, random γ/β, then running statistics calibrated on a random batch and perturbed.

    Purely random statistics make deep nets saturate, so the statistics are measured on a batch first
    (forward + backward under autograd.record(), which is when MXNet's CPU BatchNorm updates them).
    With momentum forced to 0 one pass suffices; BatchNorms we cannot reach keep momentum 0.9, so passes
    repeat until the statistics settle.
    """
    import mxnet as mx

    mx.random.seed(seed)
    rng = np.random.RandomState(seed)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2), force_reinit=True)
    shape = (calibration_batch,) + tuple(input_shape[1:])
    batch = mx.nd.array(rng.standard_normal(shape).astype(np.float32))
    net(batch)   # finish deferred initialisation so every parameter has its shape
    params = net.collect_params()
    for name in sorted(params.keys()):
        p = params[name]
        data = p.data()
        if name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, data.shape)))
        elif name.endswith("beta") or name.endswith("bias"):
            p.set_data(mx.nd.array(rng.uniform(-0.2, 0.2, data.shape)))
        elif name.endswith("alpha"):
            p.set_data(mx.nd.array(rng.uniform(0.05, 0.3, data.shape)))
    blocks = _batchnorm_blocks(net)
    saved = [b._kwargs.get("momentum", 0.9) for b in blocks]
    for b in blocks:
        b._kwargs["momentum"] = 0.0
    stats = [p for n, p in sorted(params.items()) if n.endswith(("running_mean", "running_var", "moving_mean",
                                                                   "moving_var"))]
    try:
        previous = None
        for _ in range(max_passes):
            with mx.autograd.record():
                out = net(batch)
                outs = out if isinstance(out, (list, tuple)) else [out]
                losses = [o.sum() for o in outs if o is not None]
            mx.autograd.backward(losses)
            current = np.concatenate([p.data().asnumpy().ravel() for p in stats]) if stats else np.zeros(0)
            if previous is not None and np.allclose(current, previous, rtol=1e-3, atol=1e-5):
                break
            previous = current
    finally:
        for b, momentum in zip(blocks, saved):
            b._kwargs["momentum"] = momentum
    for p in stats:
        data = p.data().asnumpy()
        if "mean" in p.name:
            paired = [q for q in stats if q.name == p.name.replace("mean", "var")]
            spread = np.sqrt(np.maximum(paired[0].data().asnumpy(), 1e-6)) if paired else 1.0
            p.set_data(mx.nd.array(data + 0.1 * spread * rng.standard_normal(data.shape)))
        else:
            p.set_data(mx.nd.array(data * rng.uniform(0.8, 1.25, data.shape) + 1e-3))
    return net


def random_zoo_model(name: str, seed: int, input_shape=None):
    net = get_zoo_model(name)
    return randomize(net, seed, input_shape or default_input_shape(name))
