"""The model a command names: a GluonCV zoo name (with seeded random, fine-tuned or GluonCV's pretrained weights) or
exported symbol files. Returns the MXNet model to compare against, the input shapes, and what the compiler
imports."""
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
    """(the MXNet model to compare against, {input name: shape}, the source compile_model imports)."""
    from compiler.frontend import normalise_input_shapes

    if is_symbol_file(args.model):
        from compiler.driver.reference import SymbolModel

        if args.random_init is not None or args.zoo_arg or args.classes or args.pretrained:
            raise ConversionError("--random-init, --pretrained, --zoo-arg and --classes apply to zoo models only")
        if args.params is None:
            raise ConversionError(f"{args.model} needs --params PREFIX-0000.params")
        if not args.input_shape:
            raise ConversionError(f"{args.model} needs --input-shape N,C,H,W")
        model = SymbolModel.load(args.model, args.params)
        shapes = normalise_input_shapes(input_shapes_given(args, None), default_name=model.default_input)
        return model, shapes, args.model
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
    return net, shapes, net
