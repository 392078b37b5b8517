"""The model a command names: a GluonCV zoo name (with seeded random, fine-tuned or GluonCV's pretrained weights) or
exported symbol files. Returns the reference to compare against (made only when a command verifies), the input
shapes, and what the compiler imports. Exported files need no MXNet: without it, or with `--reference interpreter`,
their reference is the NumPy interpreter (compiler/driver/reference.py)."""
from __future__ import annotations

import os

from compiler.errors import ConversionError


def is_symbol_file(model: str) -> bool:
    return model.endswith(".json") or os.path.sep in model


def input_shapes_given(args, default):
    """The --input-shape values as compile_model takes them (one shape, or {name: shape}), or `default`."""
    if not args.input_shape:
        return default
    if len(args.input_shape) == 1 and args.input_shape[0][0] is None:
        return args.input_shape[0][1]
    if any(name is None for name, _ in args.input_shape):
        raise ConversionError("with several --input-shape values, name each one (NAME:N,C,H,W)")
    return {name: shape for name, shape in args.input_shape}


def zoo_arguments(args) -> dict:
    """The zoo builder's arguments: --zoo-arg values, and --classes as `classes`."""
    arguments = dict(args.zoo_arg)
    if args.classes:
        arguments["classes"] = args.classes
    return arguments


def load_model(args):
    """(a function giving the reference to compare against, {input name: shape}, the source compile_model
    imports)."""
    from compiler.frontend import normalise_input_shapes

    if is_symbol_file(args.model):
        if args.random_init is not None or args.zoo_arg or args.classes or args.pretrained:
            raise ConversionError("--random-init, --pretrained, --zoo-arg and --classes apply to zoo models only")
        if args.params is None:
            raise ConversionError(f"{args.model} needs --params PREFIX-0000.params")
        if not args.input_shape:
            raise ConversionError(f"{args.model} needs --input-shape N,C,H,W")
        from compiler.driver.reference import InterpreterModel, SymbolModel

        interpreted = InterpreterModel.load(args.model, args.params)
        shapes = normalise_input_shapes(input_shapes_given(args, None), default_name=interpreted.default_input)
        if reference_kind(args) == "interpreter":
            return (lambda: interpreted), shapes, args.model
        return (lambda: SymbolModel.load(args.model, args.params)), shapes, args.model
    if args.reference == "interpreter":
        raise ConversionError("--reference interpreter runs exported files; a zoo model is its own MXNet reference")
    require_mxnet(f"zoo model '{args.model}'")
    from compiler.driver.families import default_input_shape

    sources = [flag for flag, given in (("--random-init", args.random_init is not None), ("--params", args.params),
                                        ("--pretrained", args.pretrained)) if given]
    if len(sources) != 1:
        raise ConversionError(f"zoo model '{args.model}' takes its weights from one of --random-init, --params and "
                              f"--pretrained ({', '.join(sources) or 'none was'} given)",
                              hint="--params FILE for weights saved with net.save_parameters, --pretrained for "
                                   "GluonCV's, --random-init SEED for seeded random ones")
    arguments = zoo_arguments(args)
    shapes = normalise_input_shapes(input_shapes_given(args, default_input_shape(args.model, arguments)))
    shape = next(iter(shapes.values()))
    if args.params:
        from compiler.driver.trained import zoo_model_with_params

        net = zoo_model_with_params(args.model, args.params, shape, arguments)
    elif args.pretrained:
        from compiler.driver.trained import pretrained_zoo_model

        net = pretrained_zoo_model(args.model, shape, arguments)
    else:
        from compiler.driver import zoo

        net = zoo.random_zoo_model(args.model, args.random_init, shape, arguments)
    return (lambda: net), shapes, net


def reference_kind(args) -> str:
    """'mxnet' or 'interpreter': --reference, or MXNet where it is installed."""
    from compiler.frontend.mxnet_check import mxnet_available

    chosen = args.reference
    if chosen == "auto":
        return "mxnet" if mxnet_available() else "interpreter"
    if chosen == "mxnet":
        require_mxnet("--reference mxnet")
    return chosen


def require_mxnet(what: str) -> None:
    """ConversionError saying what to install (and on which Python) when MXNet is not importable."""
    from compiler.frontend.mxnet_check import mxnet_available

    if not mxnet_available():
        import sys

        raise ConversionError(f"{what} needs MXNet and GluonCV, which are not installed in this Python "
                              f"({sys.version_info.major}.{sys.version_info.minor})",
                              hint="MXNet 1.9.1 installs on Python 3.10 and 3.11 only: there, pip install "
                                   "'gluon2caffe[mxnet]' (see README); exported *-symbol.json files convert "
                                   "without it")
