"""GluonCV model-zoo networks built offline, with seeded random weights and calibrated-then-perturbed BatchNorm
statistics. What differs between families (input sizes, builder arguments, refusals, the tuning of random detector
heads) is asked of the model's family (compiler/driver/families)."""
from __future__ import annotations

import contextlib
import inspect
import os

import numpy as np

from compiler.driver.families import family_named
from compiler.errors import BadModel, ConversionError, UnsupportedOp

DEFAULT_CLASSES = ("class_a", "class_b", "class_c")


# Random BatchNorm scales. Their 3× spread across channels makes a per-channel mistake show; the range below 1
# keeps deep random nets from amplifying float32 rounding (ResNeSt-50: a 1e-7 input change moved MXNet's own
# output by 5.8e-5 with γ in [0.5, 1.5], by 6.8e-6 with γ in [0.2, 0.6]).
GAMMA = (0.2, 0.6)
# Nets with more BatchNorms than this (ResNeSt-200/269 and their segmentation nets) take smaller scales: with GAMMA,
# MXNet's own float32 output of deeplab_resnest200_ade at 480×480 was 3.0e-4 (relative) away from its float64
# output, more than the tolerance; with DEEP_GAMMA 2.2e-5 at 240×240 (8.3e-5 with GAMMA there).
DEEP_NET_NORMS, DEEP_GAMMA = 250, (0.1, 0.3)
BETA = (0.3, 0.8)   # random BatchNorm shifts (see randomize)


@contextlib.contextmanager
def _reset_ctx_skips_uninitialized():
    """Some GluonCV builders (action recognition, `*_custom`) call collect_params().reset_ctx() on parameters that
    were never initialised when no weights are loaded, which MXNet refuses; initialisation sets the context anyway."""
    import mxnet as mx

    original = mx.gluon.parameter.Parameter.reset_ctx

    def reset_ctx(self, ctx):
        if self._data is not None or self._deferred_init:
            original(self, ctx)
    mx.gluon.parameter.Parameter.reset_ctx = reset_ctx
    try:
        yield
    finally:
        mx.gluon.parameter.Parameter.reset_ctx = original


class _DownloadAttempted(Exception):
    pass


@contextlib.contextmanager
def _no_downloads():
    """A zoo build must never reach the network: GluonCV's weight downloader raises instead (some builders, such as
    the `*_custom` action-recognition ones, load a pretrained base whatever pretrained_base says)."""
    from gluoncv.model_zoo import model_store

    original = model_store.download

    def refuse(url, *args, **kwargs):
        raise _DownloadAttempted(url)
    model_store.download = refuse
    try:
        yield
    finally:
        model_store.download = original


def pretrained_file(name: str) -> str:
    """Where GluonCV's model store keeps (or would download) the pretrained weights of `name`:
    $MXNET_HOME/models, or ~/.mxnet/models, then NAME-HASH.params."""
    from gluoncv.model_zoo import model_store

    root = os.path.join(os.environ["MXNET_HOME"], "models") if "MXNET_HOME" in os.environ else \
        os.path.join("~", ".mxnet", "models")
    return os.path.join(os.path.expanduser(root), f"{name}-{model_store.short_hash(name)}.params")


@contextlib.contextmanager
def _store_downloads(name: str):
    """GluonCV may fetch `name`'s pretrained weights into its model store; a download that fails (no network) is one
    clear error saying where the file goes."""
    from gluoncv.model_zoo import model_store

    original = model_store.download

    def fetch(url, *args, **kwargs):
        try:
            return original(url, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (whatever the network did, the answer is the same)
            path = pretrained_file(name)
            raise BadModel(f"GluonCV's pretrained weights for '{name}' are not in its model store ({path}), and "
                           f"downloading them failed ({type(exc).__name__})",
                           hint=f"on a machine with network, run gluoncv.model_zoo.get_model('{name}', "
                                f"pretrained=True) and copy {os.path.basename(path)} to {os.path.dirname(path)}, or "
                                "set MXNET_HOME to the folder whose models/ holds it") from None

    model_store.download = fetch
    try:
        yield
    finally:
        model_store.download = original


@contextlib.contextmanager
def _nested_builds_offline(builder):
    """Builders that build their backbone with another zoo builder do not always pass pretrained_base on (the
    ResNet action-recognition nets construct `ActionRecResNetV1b` with its default pretrained_base=True): while
    `builder` runs, every zoo builder its module calls is called with pretrained=False."""
    from gluoncv.model_zoo import model_zoo

    module = inspect.getmodule(builder)
    builders = {id(b) for b in model_zoo._models.values()} | {id(model_zoo.get_model)}
    nested = {key: value for key, value in vars(module).items() if id(value) in builders and value is not builder}

    def offline(build):
        def build_offline(*args, **kwargs):
            return build(*args, **{**kwargs, "pretrained": False})
        return build_offline
    for key, build in nested.items():
        setattr(module, key, offline(build))
    try:
        yield
    finally:
        for key, build in nested.items():
            setattr(module, key, build)


def builder_arguments(name: str) -> tuple[dict, dict]:
    """The arguments that keep this model's builder offline (its family's offline_arguments): (those it names, those
    it may take through **kwargs — most segmentation, pose and depth builders forward them to the network, a
    classifier's to a block that refuses them)."""
    from gluoncv.model_zoo import model_zoo

    offline = family_named(name.lower()).offline_arguments
    builder = model_zoo._models.get(name.lower())
    parameters = inspect.signature(builder).parameters if builder is not None else {}
    named = {k: v for k, v in offline.items() if k in parameters}
    forwards = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    return named, ({k: v for k, v in offline.items() if k not in named} if forwards else {})


def takes_class_names(builder) -> bool:
    """Whether a zoo builder requires a list of class names (the `*_custom` detectors). googlenet's optional
    `classes` is a class count, not names."""
    parameter = inspect.signature(builder).parameters.get("classes")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def _build_offline(name: str, arguments: dict, input_shape=None, pretrained: bool = False):
    """get_model with the offline arguments (and those the family's builder takes for this input). An argument that
    only **kwargs took and something downstream refused is left out and the build retried: Python's TypeError names
    the refused keyword (the only record of which one it was), else the last one goes. `pretrained` loads GluonCV's
    own weights for the whole net (its backbone is still built without)."""
    from gluoncv import model_zoo

    named, forwarded = builder_arguments(name)
    builder = model_zoo.model_zoo._models[name.lower()]
    if takes_class_names(builder) and "classes" not in arguments:
        named["classes"] = list(DEFAULT_CLASSES)   # the *_custom detectors take the user's classes (--classes)
    if input_shape is not None:
        forwarded.update(family_named(name).builder_arguments(name, input_shape))
    while True:
        try:
            return model_zoo.get_model(name, pretrained=pretrained, **{**named, **forwarded, **arguments})
        except (TypeError, Warning) as exc:   # GluonCV's darknet raises a Warning for an unexpected keyword
            if not forwarded:
                raise
            refused = [k for k in forwarded if f"'{k}'" in str(exc)]
            del forwarded[(refused or list(forwarded))[-1]]


def get_zoo_model(name: str, arguments: dict | None = None, input_shape=None, pretrained: bool = False):
    """A zoo model built offline for `input_shape`; `arguments` go to its builder (e.g. num_segments, classes).
    `pretrained` takes GluonCV's pretrained weights from its model store, which GluonCV fills when the machine is
    online; any other download is refused."""
    import mxnet as mx
    from gluoncv import model_zoo

    if name.lower() not in model_zoo.get_model_list():
        raise BadModel(f"'{name}' is not a GluonCV model-zoo name",
                       hint="see gluoncv.model_zoo.get_model_list(), or pass a *-symbol.json path")
    reason = family_named(name.lower()).refusal(name.lower())
    if reason is not None:
        raise UnsupportedOp(f"'{name}' is not converted: {reason}", node=name, op="model",
                            hint="convert its backbone (e.g. resnet50_v1b) and run the detection stage outside Caffe")
    try:
        builder = model_zoo.model_zoo._models[name.lower()]
        # A fresh name scope: layer names (yolov30_…) are then the same however many models this process built.
        downloads = _store_downloads(name) if pretrained else _no_downloads()
        with _reset_ctx_skips_uninitialized(), downloads, _nested_builds_offline(builder), mx.name.NameManager():
            return _build_offline(name, dict(arguments or {}), input_shape, pretrained)
    except ConversionError:
        raise
    except _DownloadAttempted as exc:
        raise BadModel(f"GluonCV's builder for '{name}' downloads pretrained weights ({str(exc).rsplit('/', 1)[-1]}) "
                       "even with pretrained_base=False, and this machine has no network",
                       hint="export the model where its weights are available and pass its symbol file") from None
    except Exception as exc:  # noqa: BLE001  (a builder failing in any way is the model's problem, said in one line)
        raise BadModel(f"GluonCV cannot build '{name}' offline ({type(exc).__name__}: {str(exc)[:200]})",
                       hint="export the model where its weights are available and pass its symbol file") from None


def _traced_nodes(net) -> tuple[object, list[dict]]:
    import json

    import mxnet as mx

    from compiler.frontend import trace

    symbol = mx.sym.load_json(trace(net, ["data"]).tojson())   # as its JSON says (tracing may add nodes it drops)
    return symbol, json.loads(symbol.tojson())["nodes"]


def calibrate_batchnorm(net, batch) -> list:
    """Set every BatchNorm's running mean/var to the statistics of its input on `batch` in training mode.

    One training-mode forward exposes every BatchNorm input at once (BatchNorms inside a SymbolBlock included);
    with the running statistics equal to those batch statistics, inference reproduces the training-mode
    activations for that batch, so nothing downstream explodes or saturates.
    """
    import mxnet as mx

    from compiler.driver.reference import symbol_block
    from compiler.frontend.mxnet_check import internal_entries

    symbol, nodes = _traced_nodes(net)
    internals = symbol.get_internals()
    entries = internal_entries(internals, nodes)
    norms = [n for n in nodes if n["op"] in ("BatchNorm", "_contrib_BatchNormWithReLU")]
    if not norms:
        return []
    taps = [internals[entries[(n["inputs"][0][0], n["inputs"][0][1])]] for n in norms]
    params = net.collect_params()
    tapped = symbol_block(taps, ["data"], params)
    with mx.autograd.train_mode():
        inputs = tapped(batch)
    stats = []
    for node, data in zip(norms, inputs if isinstance(inputs, (list, tuple)) else [inputs]):
        data = data.asnumpy().astype(np.float64)
        axes = tuple(i for i in range(data.ndim) if i != 1)
        mean_name, var_name = (nodes[e[0]]["name"] for e in node["inputs"][3:5])
        params[mean_name].set_data(mx.nd.array(data.mean(axis=axes)))
        params[var_name].set_data(mx.nd.array(data.var(axis=axes)))
        stats += [params[mean_name], params[var_name]]
    return stats


def randomize(net, seed: int, input_shape, calibration_batch: int = 2):
    """Seeded random weights and γ/β, then BatchNorm statistics calibrated on a random batch and perturbed.

    Purely random statistics make deep nets saturate, so the statistics are measured first (see
    calibrate_batchnorm), then moved by a seeded perturbation so that a folding mistake still shows.
    """
    import mxnet as mx

    mx.random.seed(seed)
    rng = np.random.RandomState(seed)
    # Pruned models come with some parameters shaped (and initialised) by their builder: initialise the rest.
    for p in net.collect_params().values():
        if p._data is None and not p._deferred_init:
            p.initialize()
    # Twice the input's batch: a video model's batch carries its segments, so it must stay a multiple of them.
    shape = (calibration_batch * input_shape[0],) + tuple(input_shape[1:])
    batch = mx.nd.array(rng.standard_normal(shape).astype(np.float32))
    net(batch)   # finish deferred initialisation so every parameter has its shape
    params = net.collect_params()
    gamma = DEEP_GAMMA if sum(name.endswith("gamma") for name in params.keys()) > DEEP_NET_NORMS else GAMMA
    for name in sorted(params.keys()):
        p = params[name]
        if isinstance(p, mx.gluon.parameter.Constant):
            continue   # anchors and other constants belong to the architecture
        shape = p.shape
        if name.endswith("gamma"):
            value = rng.uniform(*gamma, shape)
        elif name.endswith("beta"):
            # Mostly positive shifts keep most ReLUs open. Random BatchNorm nets with centred shifts are chaotic:
            # float32 rounding grew ~1.2× per layer (a 1e-7 input change moved SSD-512 ResNet-50 outputs by
            # 1.6e-4), which would drown real conversion errors; with these shifts it stays near 1e-5.
            value = rng.uniform(*BETA, shape)
        elif name.endswith("bias"):
            value = rng.uniform(-0.2, 0.2, shape)
        elif name.endswith("alpha"):
            value = rng.uniform(0.05, 0.3, shape)
        elif name.endswith(("running_var", "moving_var")):
            value = np.ones(shape)
        elif name.endswith(("running_mean", "moving_mean")):
            value = np.zeros(shape)
        else:   # He-normal weights keep activations in range through deep stacks
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        p.set_data(mx.nd.array(value.astype(np.float32)))
    stats = calibrate_batchnorm(net, batch)
    for p in stats:
        data = p.data().asnumpy()
        if "mean" in p.name:
            paired = [q for q in stats if q.name == p.name.replace("mean", "var")]
            spread = np.sqrt(np.maximum(paired[0].data().asnumpy(), 1e-6)) if paired else 1.0
            p.set_data(mx.nd.array(data + 0.05 * spread * rng.standard_normal(data.shape)))
        else:
            p.set_data(mx.nd.array(data * rng.uniform(0.9, 1.1, data.shape) + 1e-3))
    mx.nd.waitall()   # nothing of the set-up may still be running when the net is read or run
    return net


def random_zoo_model(name: str, seed: int, input_shape=None, arguments: dict | None = None):
    """`name` built offline for `input_shape` (its family's default when None) with seeded random weights: the
    whole net, as GluonCV runs it (compile_model cuts what the target cannot run)."""
    import mxnet as mx

    from compiler.frontend import refuse_imperative_blocks
    from compiler.frontend.mxnet_check import mxnet_message

    family = family_named(name.lower())
    shape = tuple(input_shape or family.default_input_shape(name, arguments))
    net = get_zoo_model(name, arguments, shape)
    refuse_imperative_blocks(net)
    try:
        randomize(net, seed, shape)
        family.tune(net, seed, shape)
    except (mx.base.MXNetError, ValueError) as exc:
        message = mxnet_message(exc) if isinstance(exc, mx.base.MXNetError) else str(exc).splitlines()[0]
        raise BadModel(f"'{name}' cannot run on input shape {shape}: {message}",
                       hint="pass an --input-shape the model accepts (e.g. its default "
                            f"{','.join(map(str, family.default_input_shape(name)))})") from None
    except TypeError as exc:   # hybrid_forward wants more inputs than the one image (SiamRPN: template, search)
        raise BadModel(f"'{name}' does not run on one input: {str(exc).splitlines()[0]}",
                       hint="models of several inputs are converted from their exported files or as blocks, "
                            "with an input shape per input") from None
    return net


def export_block(net, input_shape, prefix: str) -> tuple[str, str]:
    """`net` as HybridBlock.export writes it, what a user who trained it holds: (PREFIX-symbol.json,
    PREFIX-0000.params)."""
    import mxnet as mx

    net.hybridize()
    net(mx.nd.zeros(input_shape))
    net.export(prefix)
    return prefix + "-symbol.json", prefix + "-0000.params"
