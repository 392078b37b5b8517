"""Zoo architectures with the weights a user holds: a file written by `net.save_parameters` (GluonCV's training
scripts write these) or by `net.collect_params().save`, or GluonCV's own pretrained weights from its model store."""
from __future__ import annotations

import os

from compiler.driver import zoo
from compiler.driver.families import family_named
from compiler.errors import BadModel, ParamError


def _built(name: str, arguments: dict, input_shape, pretrained: bool = False):
    """The architecture; class names for a detector whose builder takes none (a VOC or COCO preset fine-tuned on
    new classes) are set after the build, as the training script set them."""
    from gluoncv.model_zoo import model_zoo

    arguments = dict(arguments)
    classes = arguments.get("classes")
    builder = model_zoo._models.get(name.lower())
    renamed = isinstance(classes, (list, tuple)) and builder is not None and not zoo.takes_class_names(builder)
    if renamed:
        del arguments["classes"]
    family = family_named(name.lower())
    if renamed and not family.takes_new_classes:
        raise BadModel(f"'{name}' takes no class names", hint="--classes is for detectors; a classifier takes "
                                                              "--zoo-arg classes=K")
    net = zoo.get_zoo_model(name, arguments, input_shape, pretrained=pretrained)
    if renamed:
        family.set_classes(net, list(classes), initialize=not pretrained)
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
    structural = net._collect_params_with_prefix()
    prefixed = {p.name: p for p in net.collect_params().values()}
    expected = structural if set(loaded) & set(structural) or not set(loaded) & set(prefixed) else prefixed
    _check_matches(name, path, expected, {key: array.shape for key, array in loaded.items()})
    try:
        if expected is structural:
            net.load_parameters(path, ctx=mx.cpu())
        else:
            net.collect_params().load(path, ctx=mx.cpu())
    except (AssertionError, mx.base.MXNetError, ValueError) as exc:
        raise ParamError(f"the weights in {os.path.basename(path)} do not fit '{name}': "
                         f"{str(exc).strip()[:200]}", node=name, op="model") from None
    mx.nd.waitall()
    return net


def _check_matches(name: str, path: str, expected: dict, found: dict) -> None:
    """ParamError naming the first parameter (key → Parameter) the net needs and the file lacks, the first whose
    shapes differ (a dimension 0 in the net is still to be inferred), or the first the file holds and the net has no
    place for."""
    file = os.path.basename(path)
    retrain = ("build the architecture the file was trained with: --zoo-arg classes=K for a classifier, --classes "
               "a,b,… for a detector, other --zoo-arg values as in training")
    other = "the file was saved from another architecture; check the zoo name and its --zoo-arg values"
    for key, parameter in expected.items():
        if key not in found:
            raise ParamError(f"parameter '{key}' is not in {file}", node=name, op="model", attribute=key, hint=other)
        shape, held = parameter.shape, tuple(found[key])
        if shape is not None and (len(shape) != len(held) or any(d not in (0, h) for d, h in zip(shape, held))):
            raise ParamError(f"parameter '{parameter.name}': the net needs {tuple(shape)}, the file holds {held}",
                             node=name, op="model", attribute=parameter.name, hint=retrain)
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ParamError(f"{file} holds '{extra[0]}', which the '{name}' net has no place for", node=name,
                         op="model", attribute=extra[0], hint=other)


def pretrained_zoo_model(name: str, input_shape, arguments: dict | None = None):
    """`name` with GluonCV's pretrained weights, from its model store (see zoo.pretrained_file)."""
    return _built(name, arguments or {}, input_shape, pretrained=True)
