"""gluon2caffe command line: convert a model (and verify it), or verify written files."""
from __future__ import annotations

import argparse
import math
import os
import sys
import traceback

from compiler.errors import ConversionError, VerificationFailed


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors in the CLI's own form (argparse would print its usage block first)."""

    def error(self, message: str):
        self.exit(2, f"gluon2caffe: error: {message} (see gluon2caffe {self._subcommand()}--help)\n")

    def _subcommand(self) -> str:
        words = self.prog.split()[1:]
        return " ".join(words) + " " if words else ""


def _shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    name, _, dims = text.rpartition(":")
    try:
        shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 1,3,224,224 or data:1,3,224,224") from None
    if not shape:
        raise argparse.ArgumentTypeError(f"{text!r} has no dims")
    if any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: every dim must be a positive int")
    return (name or None), shape


def _zoo_argument(text: str) -> tuple[str, object]:
    from compiler.frontend.attr_parser import parse_literal

    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. num_segments=3)")
    try:
        return key, parse_literal(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value is not a number, word or tuple") from None


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of distinct names (e.g. cat,dog,person)")
    return names


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} holds a value that is not finite")
    return values


def _nonzero_floats(text: str) -> tuple[float, ...]:
    values = _floats(text)
    if any(v == 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} holds a 0, and the input would be divided by it")
    return values


def _number(kind, test, wanted: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
        return value
    return parse


_SEED = _number(int, lambda v: 0 <= v < 2**32, "a seed from 0 to 2**32 - 1")
_POSITIVE = _number(float, lambda v: math.isfinite(v) and v > 0, "a positive number")
_NONZERO = _number(float, lambda v: math.isfinite(v) and v != 0, "a non-zero number")
_FRACTION = _number(float, lambda v: 0 <= v <= 1, "a number from 0 to 1")


def conversion_options(args, **extra):
    """The Options a convert (or a per-layer re-conversion) with these arguments uses: one place for both."""
    from compiler.options import Options

    return Options(to_bgr=args.to_bgr, softmax=args.softmax, mean=args.mean, std=args.std,
                   input_scale=args.input_scale, merge_bn=not args.no_merge_bn, relu6=args.relu6,
                   ssd_confidence=args.ssd_confidence, ssd_integer_sizes=args.ssd_integer_sizes,
                   ncnn_yolo_layer=args.ncnn_yolo_layer, **extra)


def _input_shapes(args, default):
    if not args.input_shape:
        return default
    if len(args.input_shape) == 1 and args.input_shape[0][0] is None:
        return args.input_shape[0][1]
    if any(name is None for name, _ in args.input_shape):
        raise ConversionError("with several --input-shape values, name each one (NAME:N,C,H,W)")
    return {name: shape for name, shape in args.input_shape}


def _add_model_arguments(parser) -> None:
    parser.add_argument("model", help="a GluonCV model-zoo name or a PREFIX-symbol.json path")
    parser.add_argument("--params", help="the PREFIX-NNNN.params file that goes with a symbol file; for a zoo name, "
                                         "weights saved with net.save_parameters (a fine-tuned net)")
    parser.add_argument("--input-shape", action="append", type=_shape, metavar="[NAME:]N,C,H,W",
                        help="input shape (repeat with NAME: for several inputs); zoo default 1,3,224,224")
    parser.add_argument("--random-init", type=_SEED, metavar="SEED",
                        help="zoo models: seeded random weights and random BatchNorm statistics (no download)")
    parser.add_argument("--pretrained", action="store_true",
                        help="zoo models: GluonCV's pretrained weights from its model store (~/.mxnet/models or "
                             "$MXNET_HOME/models; GluonCV downloads them there when the machine is online)")
    parser.add_argument("--zoo-arg", action="append", default=[], type=_zoo_argument, metavar="KEY=VALUE",
                        help="zoo models: an argument for GluonCV's builder, e.g. num_segments=3 (repeatable)")
    parser.add_argument("--classes", type=_names, metavar="A,B,C",
                        help="zoo detectors named *_custom: the class names (default: three placeholder classes)")
    parser.add_argument("--seed", type=_SEED, default=0, help="seed of the verification input (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (they are off when stderr is no "
                                                             "terminal)")
    parser.add_argument("--image", metavar="PATH",
                        help="verify on this image (resized to the input, preprocessed by --mean/--std/"
                             "--input-scale, BGR for the Caffe side with --to-bgr): prints a classifier's top-5 "
                             "classes or a detector's best detections for MXNet and each runtime")
    parser.add_argument("--tolerance", type=_POSITIVE, default=None,
                        help="max |caffe - mxnet| / max |mxnet| allowed (default 1e-4)")
    parser.add_argument("--runtime", default="opencv", choices=("opencv", "caffe", "all"),
                        help="runtime for verification: OpenCV's dnn (default), pycaffe, or all")


def _add_conversion_arguments(parser) -> None:
    """Every option that changes the converted files; `verify --per-layer` takes the same ones."""
    from backends import target_names

    parser.add_argument("--target", default="caffe", choices=target_names(),
                        help="the Caffe dialect: caffe (BVLC 1.0, default), caffe-ssd or ncnn")
    parser.add_argument("--to-bgr", action="store_true", help="the Caffe model takes BGR input")
    parser.add_argument("--softmax", action="store_true", help="append a softmax over axis 1 to every output")
    parser.add_argument("--mean", type=_floats, metavar="R,G,B",
                        help="fold (x - mean) / std into the model so it takes raw pixels (model channel order)")
    parser.add_argument("--std", type=_nonzero_floats, metavar="R,G,B", help="see --mean")
    parser.add_argument("--input-scale", type=_NONZERO, metavar="S", help="multiply raw pixels by S first (e.g. 1/255)")
    parser.add_argument("--no-merge-bn", action="store_true", help="keep BatchNorm + Scale layers")
    parser.add_argument("--relu6", choices=("exact", "approx"), default="exact",
                        help="clip(0,6) exactly (default) or as a plain ReLU, which is reported as an approximation")
    parser.add_argument("--ssd-confidence", type=_FRACTION, metavar="T",
                        help="SSD: DetectionOutput's confidence_threshold (default: the net's own, 0.01)")
    parser.add_argument("--ssd-integer-sizes", action="store_true",
                        help="SSD: integer PriorBox sizes (scaled with img_h/img_w), exact in weiliu89 caffe-ssd, "
                             "which truncates fractional sizes; OpenCV ignores img_h/img_w")
    parser.add_argument("--ncnn-yolo-layer", action="store_true",
                        help="YOLOv3 on ncnn: end in ncnn's native Yolov3DetectionOutput (one class per box, "
                             "class-agnostic NMS: an approximation of GluonCV's detections, reported) instead of the "
                             "exact DetectionOutput ending")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gluon2caffe", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="print tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    convert = commands.add_parser("convert", help="convert a model into PREFIX.prototxt + PREFIX.caffemodel")
    _add_model_arguments(convert)
    _add_conversion_arguments(convert)
    convert.add_argument("-o", "--output", required=True, metavar="PREFIX", help="output path prefix")
    convert.add_argument("--verify", action="store_true", help="run the files and compare with MXNet")
    convert.add_argument("--plot", metavar="PATH.png",
                         help="with --verify --image on a detector: draw the detections of MXNet and of each "
                              "runtime on the image, side by side in one PNG")
    convert.add_argument("--report", action="store_true", help="print the pass report, write PREFIX.report.json")
    convert.add_argument("--check-ir", action="store_true", help="verify the IR after every pass")
    convert.add_argument("--dump-ir", metavar="DIR", help="write the IR text after every pass into DIR")
    convert.add_argument("--disable-pass", action="append", default=[], metavar="NAME", help="skip a pass")
    convert.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    verify = commands.add_parser("verify", help="run PREFIX.prototxt/.caffemodel and compare with the MXNet model")
    verify.add_argument("prefix", help="prefix of the written files")
    _add_model_arguments(verify)
    _add_conversion_arguments(verify)
    verify.add_argument("--per-layer", action="store_true",
                        help="convert again with the same options but without in-place layers, compare every blob "
                             "that has an MXNet counterpart, and name the first layer over tolerance")
    verify.add_argument("--plot", metavar="PATH.png",
                        help="with --per-layer: draw the relative error of every compared blob (log scale), the "
                             "tolerance, the first blob over it and the outputs' errors into one PNG")
    verify.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    from compiler.driver import sweep

    zoo_sweep = commands.add_parser("zoo", help="convert and verify model-zoo networks, each in its own process, and "
                                                "write DIR/coverage.md and DIR/coverage.json")
    sweep.add_arguments(zoo_sweep)
    zoo_sweep.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _check_arguments(args) -> None:
    """What the parser cannot check alone, before any work: shapes against the model kind, value counts, names."""
    from compiler.driver import zoo
    from passes import REGISTRY

    if args.command == "zoo":
        return
    if args.image is not None:
        from compiler.driver.verify.image import read_image

        if args.command == "convert" and not args.verify:
            raise ConversionError("--image is the input of verification", hint="add --verify")
        args.image_pixels = read_image(args.image)   # a bad path or file fails here, before any work
    if args.plot:
        from backends.writer import check_output_prefix

        per_layer = getattr(args, "per_layer", False)
        if not per_layer and (args.image is None or (args.command == "convert" and not args.verify)):
            raise ConversionError("--plot draws the per-layer comparison (verify --per-layer) or, with --verify "
                                  "--image, a detector's detections", hint="add --per-layer, or --verify --image")
        check_output_prefix(args.plot)   # a missing or unwritable directory fails before any work
    unknown = [name for name in getattr(args, "disable_pass", []) if name not in REGISTRY]
    if unknown:
        raise ConversionError(f"--disable-pass {unknown[0]}: no such pass", hint=f"the passes are: {', '.join(REGISTRY)}")
    if args.command == "convert":
        from backends.writer import check_output_prefix

        check_output_prefix(args.output)

    zoo_model = not _is_symbol_file(args.model)
    shapes = [shape for _, shape in args.input_shape or []]
    if zoo_model:
        if len(shapes) > 1:
            raise ConversionError("a zoo model takes one --input-shape")
        if shapes and len(shapes[0]) != 4:
            raise ConversionError(f"--input-shape {','.join(map(str, shapes[0]))}: a zoo model takes N,C,H,W")
        shapes = shapes or [zoo.default_input_shape(args.model, dict(args.zoo_arg))]
    images = [s for s in shapes if len(s) >= 2]
    for flag, values in (("--mean", args.mean), ("--std", args.std)):
        if values is None or not images:
            continue
        channels = images[0][1]
        if len(values) not in (1, channels):
            raise ConversionError(f"{flag} has {len(values)} values; give one, or one per input channel ({channels})")


def _is_symbol_file(model: str) -> bool:
    return model.endswith(".json") or os.path.sep in model


def load_reference(args):
    """The MXNet model to compare against, the input shapes it takes, and the source the compiler imports."""
    from compiler.driver import zoo
    from compiler.frontend import normalise_input_shapes

    if _is_symbol_file(args.model):
        from compiler.driver.reference import SymbolModel

        if args.random_init is not None or args.zoo_arg or args.classes or args.pretrained:
            raise ConversionError("--random-init, --pretrained, --zoo-arg and --classes apply to zoo models only")
        if args.params is None:
            raise ConversionError(f"{args.model} needs --params PREFIX-0000.params")
        if not args.input_shape:
            raise ConversionError(f"{args.model} needs --input-shape N,C,H,W")
        model = SymbolModel.load(args.model, args.params)
        shapes = normalise_input_shapes(_input_shapes(args, None), default_name=model.default_input)
        return model, shapes, args.model
    sources = [flag for flag, given in (("--random-init", args.random_init is not None), ("--params", args.params),
                                        ("--pretrained", args.pretrained)) if given]
    if len(sources) != 1:
        raise ConversionError(f"zoo model '{args.model}' takes its weights from one of --random-init, --params and "
                              f"--pretrained ({', '.join(sources) or 'none was'} given)",
                              hint="--params FILE for weights saved with net.save_parameters, --pretrained for "
                                   "GluonCV's, --random-init SEED for seeded random ones")
    arguments = dict(args.zoo_arg)
    if args.classes:
        arguments["classes"] = args.classes
    shapes = normalise_input_shapes(_input_shapes(args, zoo.default_input_shape(args.model, arguments)))
    shape = next(iter(shapes.values()))
    if args.params:
        from compiler.driver.trained import zoo_model_with_params

        net = zoo_model_with_params(args.model, args.params, shape, arguments)
    elif args.pretrained:
        from compiler.driver.trained import pretrained_zoo_model

        net = pretrained_zoo_model(args.model, shape, arguments)
    else:
        net = zoo.random_zoo_model(args.model, args.random_init, shape, arguments)
    return net, shapes, net


def run_verification(args, model, input_shapes, prototxt, caffemodel, output_layers, output_names,
                     decode: dict | None = None) -> bool:
    from compiler.driver import verify
    from compiler.driver.verify.runtimes import runtime_names

    tolerance = args.tolerance if args.tolerance is not None else verify.DEFAULT_TOLERANCE
    image = getattr(args, "image_pixels", None)
    verdicts = verify.verify_files(model, input_shapes, prototxt, caffemodel, output_layers, output_names,
                                   conversion_options(args), runtime_names(args.runtime), args.seed, tolerance,
                                   image=image, progress=not args.quiet, decode=decode)
    source = f"the image {args.image}" if image is not None else f"a seeded random input (seed {args.seed})"
    for verdict in verdicts:
        print(f"{'detection verification' if verdict.detections else 'verification'} in {verdict.runtime} on "
              f"{source}:")
        for line in verdict.lines:
            print("  " + line)
    if image is not None and args.plot and not getattr(args, "per_layer", False):
        from compiler.driver.verify.image import draw_detections

        found = [v for v in verdicts if v.rows]
        if not found:
            raise ConversionError("--plot with --image draws detections, and this model returns none",
                                  hint="for a classifier the top-5 lines above say it all")
        sides = {"GluonCV": found[0].rows[0], **{v.runtime: v.rows[1] for v in found}}
        print(f"wrote {draw_detections(image, sides, args.plot)}")
    return all(v.ok for v in verdicts)


def cmd_convert(args) -> int:
    from compiler.driver.api import compile_model

    options = conversion_options(args, check_ir=args.check_ir, dump_ir=args.dump_ir, disable_passes=args.disable_pass)
    model, shapes, source = load_reference(args)
    compiled = compile_model(source, shapes, target=args.target, options=options, params=args.params)
    prototxt, caffemodel = compiled.save(args.output)
    print(f"wrote {prototxt} and {caffemodel} ({len(compiled.layers)} layers, target {args.target})")
    for note in compiled.notes:
        print(f"note: {note}")
    for approximation in compiled.approximations:
        print(f"approximation: {approximation}")
    if compiled.decode is not None:
        print(f"the model stops before its decoder ({compiled.decode['cut_before']}); {args.output}.decode.json "
              "says how to finish it")
    if args.report:
        print(compiled.report.format_table())
        from backends.writer import write_text_atomically

        write_text_atomically(args.output + ".report.json", compiled.report.to_json())
    if not compiled.exact:
        print("warning: the output is an approximation; see --report")
    if args.verify:
        names = [v.name for v in compiled.graph.outputs]
        ok = run_verification(args, model, shapes, prototxt, caffemodel, compiled.output_layers, names,
                              compiled.decode)
        if not ok:
            raise VerificationFailed("the converted model differs from MXNet beyond tolerance",
                                     hint="rerun with --report and --check-ir; please report the model")
    return 0


def cmd_zoo(args) -> int:
    from compiler.driver import sweep

    sweep.resolve(args)
    return sweep.sweep(args)


def cmd_verify(args) -> int:
    from compiler.driver.reference import output_layers_of

    prototxt, caffemodel = args.prefix + ".prototxt", args.prefix + ".caffemodel"
    for path in (prototxt, caffemodel):
        if not os.path.isfile(path):
            raise ConversionError(f"{path} does not exist", hint="convert the model first")
    model, shapes, source = load_reference(args)
    _check_same_conversion(args, source, shapes)
    if args.per_layer:
        return per_layer(args, model, shapes, source)
    layers = output_layers_of(prototxt)
    if not run_verification(args, model, shapes, prototxt, caffemodel, layers, layers, _decode_file(args.prefix)):
        raise VerificationFailed("the Caffe model differs from MXNet beyond tolerance")
    return 0


def _decode_file(prefix: str) -> dict | None:
    """PREFIX.decode.json, when the files end before a decoder (what the application must still do)."""
    import json

    path = prefix + ".decode.json"
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{path} cannot be read: {exc}", hint="convert the model again") from None


def per_layer(args, model, shapes, source) -> int:
    import tempfile

    from compiler.driver import verify
    from compiler.driver.api import compile_model
    from compiler.driver.verify.per_layer import compare_layers, first_divergence
    from compiler.driver.verify.runtimes import runtime_names

    options = conversion_options(args, inplace=False)
    compiled = compile_model(source, shapes, target=args.target, options=options, params=args.params)
    tolerance = args.tolerance if args.tolerance is not None else verify.DEFAULT_TOLERANCE
    with tempfile.TemporaryDirectory() as directory:
        prototxt, caffemodel = compiled.save(os.path.join(directory, "per_layer"))
        mxnet_inputs, caffe_inputs = verify.paired_inputs(shapes, args.seed, options,
                                                          {v.name: v.type.shape for v in compiled.graph.inputs})
        code = 0
        by_runtime = {}
        for runtime in runtime_names(args.runtime):
            # The block that was imported: a detector's cut for this target, else the model itself.
            imported = compiled.source if compiled.source is not None else model
            results = compare_layers(imported, compiled, prototxt, caffemodel, mxnet_inputs, caffe_inputs, runtime,
                                     tolerance, progress=not args.quiet)
            by_runtime[runtime] = results
            print(f"per-layer comparison in {runtime} ({len(results)} blobs with an MXNet counterpart):")
            for result in results:
                print("  " + str(result))
            first = first_divergence(results)
            if first is None:
                print("every compared blob is within tolerance")
                continue
            print(f"first divergence: layer '{first.layer}' ({first.layer_type}) from {first.origin}, op {first.op}: "
                  f"relative {first.relative:.2e} > {first.tolerance:g}")
            code = 1
    if args.plot:
        from compiler.driver.verify.plot import plot_per_layer

        drawn = plot_per_layer(by_runtime, args.plot, compiled.output_layers,
                               title=f"{os.path.basename(args.prefix)} ({args.target}): per-layer divergence")
        print(f"wrote {drawn.path}")
    return code


def _check_same_conversion(args, source, shapes) -> None:
    """Verification must be of the files these options make of this model (verify --per-layer converts again, and
    plain verify feeds the Caffe side what the options say): a difference names the option behind it, exit 2."""
    from compiler.driver.api import compile_model
    from compiler.driver.verify.same_files import check_same_conversion

    check_same_conversion(lambda options: compile_model(source, shapes, target=args.target, options=options,
                                                        params=args.params), conversion_options(args), args.prefix)


def main(argv=None) -> int:
    # MXNet's threaded engine gave run-to-run differences here; the naive engine runs ops in order.
    os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
    # MXNet's oneDNN graph partitioner fails to bind some valid graphs (two Dropouts in a row).
    os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # argparse's exit, after its one-line message (or --help)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        _check_arguments(args)
        return {"convert": cmd_convert, "verify": cmd_verify, "zoo": cmd_zoo}[args.command](args)
    except VerificationFailed as exc:
        print(f"gluon2caffe: verification failed: {exc}", file=sys.stderr)
        return 1
    except ConversionError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"gluon2caffe: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
