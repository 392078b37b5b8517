"""Zoo architectures with the weights a user holds: a file written by `net.save_parameters` (GluonCV's training
scripts write these) or by `net.collect_params().save`, or GluonCV's own pretrained weights from its model store."""
from __future__ import annotations

import os
import re

from compiler.driver import zoo
from compiler.driver.heads import cut_decoder
from compiler.errors import BadModel, ParamError

# The parameter MXNet names when a file and a net disagree (its loader's messages, not the model's strings).
_NAMED = re.compile(r"Parameter '([^']+)'")


def _built(name: str, arguments: dict, input_shape, pretrained: bool = False):
    """The architecture; class names for a detector whose builder takes none (a VOC or COCO preset fine-tuned with
    reset_class) are set after the build, as the training script set them."""
    from gluoncv.model_zoo import model_zoo

    arguments = dict(arguments)
    classes = arguments.get("classes")
    builder = model_zoo._models.get(name.lower())
    renamed = isinstance(classes, (list, tuple)) and builder is not None and not zoo.takes_class_names(builder)
    if renamed:
        del arguments["classes"]
    net = zoo.get_zoo_model(name, arguments, input_shape, pretrained=pretrained)
    if renamed:
        if not hasattr(net, "reset_class"):
            raise BadModel(f"'{name}' takes no class names", hint="--classes is for detectors; a classifier takes "
                                                                  "--zoo-arg classes=K")
        if not pretrained:
            net.initialize()   # deferred: reset_class reads the predictors' context, the file then fills them
        net.reset_class(list(classes))
    return net


def zoo_model_with_params(name: str, path: str, input_shape, arguments: dict | None = None):
    """`name`'s architecture (built for `arguments`, e.g. classes=10) with the weights in `path`: a
    save_parameters file (structural names) or a collect_params().save file (prefixed names). Every parameter of
    the net must be in the file with its shape, and nothing else: a difference is a ParamError naming it."""
    import mxnet as mx

    if not os.path.isfile(path):
        raise ParamError(f"params file {path!r} does not exist", hint="pass the file net.save_parameters wrote")
    net = _built(name, arguments or {}, input_shape)
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError:
        raise ParamError(f"params file {path!r} cannot be read (truncated or not an MXNet params file)") from None
    if not isinstance(loaded, dict) or not loaded:
        raise ParamError(f"params file {path!r} holds no named arrays", hint="save with net.save_parameters")
    if any(key.startswith(("arg:", "aux:")) for key in loaded):
        raise ParamError(f"{path!r} is the params file of an exported symbol (arg:/aux: names), not the weights of "
                         f"a '{name}' net", hint="convert the exported files: gluon2caffe convert PREFIX-symbol.json "
                                                 f"--params {os.path.basename(path)}")
    structural = set(net._collect_params_with_prefix())
    try:
        if set(loaded) & structural or not set(loaded) & set(net.collect_params()):
            net.load_parameters(path, ctx=mx.cpu())
        else:
            net.collect_params().load(path, ctx=mx.cpu())
    except (AssertionError, mx.base.MXNetError, ValueError) as exc:
        raise _mismatch(name, path, str(exc)) from None
    mx.nd.waitall()
    return cut_decoder(net, tuple(input_shape))


def _mismatch(name: str, path: str, message: str) -> ParamError:
    first = message.strip().splitlines()[0] if message.strip() else "they do not match"
    found = _NAMED.search(message)
    parameter = found.group(1) if found else None
    if "shape incompatible" in message or "shape" in first.lower():
        shapes = re.search(r"expected (\([^)]*\)) vs saved (\([^)]*\))", message)
        detail = f"the net needs {shapes.group(1)}, the file holds {shapes.group(2)}" if shapes else first
        return ParamError(f"parameter '{parameter}': {detail}", node=name, op="model", attribute=parameter,
                          hint="build the architecture the file was trained with: --zoo-arg classes=K for a "
                               "classifier, --classes a,b,… for a detector, other --zoo-arg values as in training")
    if "missing" in first:
        return ParamError(f"parameter '{parameter}' is not in {os.path.basename(path)}", node=name, op="model",
                          attribute=parameter, hint="the file was saved from another architecture; check the zoo "
                                                    "name and its --zoo-arg values")
    if "not present" in first:
        return ParamError(f"{os.path.basename(path)} holds '{parameter}', which the '{name}' net has no place for",
                          node=name, op="model", attribute=parameter,
                          hint="the file was saved from another architecture; check the zoo name and its --zoo-arg "
                               "values")
    return ParamError(f"the weights in {os.path.basename(path)} do not fit '{name}': {first[:200]}", node=name,
                      op="model", attribute=parameter)


def pretrained_zoo_model(name: str, input_shape, arguments: dict | None = None):
    """`name` with GluonCV's pretrained weights, from its model store (see zoo.pretrained_file)."""
    net = _built(name, arguments or {}, input_shape, pretrained=True)
    return cut_decoder(net, tuple(input_shape))
