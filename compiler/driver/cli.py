"""gluon2caffe command line: convert a model (and verify it), verify written files, or sweep the model zoo."""
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


SEED = _number(int, lambda v: 0 <= v < 2**32, "a seed from 0 to 2**32 - 1")
_POSITIVE = _number(float, lambda v: math.isfinite(v) and v > 0, "a positive number")


def _add_model_arguments(parser) -> None:
    from compiler.driver.verify.runtimes import RUNTIME_CHOICES

    parser.add_argument("model", help="a GluonCV model-zoo name or a PREFIX-symbol.json path")
    parser.add_argument("--params", help="the PREFIX-NNNN.params file that goes with a symbol file; for a zoo name, "
                                         "weights saved with net.save_parameters (a fine-tuned net)")
    parser.add_argument("--input-shape", action="append", type=_shape, metavar="[NAME:]N,C,H,W",
                        help="input shape (repeat with NAME: for several inputs); zoo default: the family's")
    parser.add_argument("--random-init", type=SEED, metavar="SEED",
                        help="zoo models: seeded random weights and random BatchNorm statistics (no download)")
    parser.add_argument("--pretrained", action="store_true",
                        help="zoo models: GluonCV's pretrained weights from its model store (~/.mxnet/models or "
                             "$MXNET_HOME/models; GluonCV downloads them there when the machine is online)")
    parser.add_argument("--zoo-arg", action="append", default=[], type=_zoo_argument, metavar="KEY=VALUE",
                        help="zoo models: an argument for GluonCV's builder, e.g. num_segments=3 (repeatable)")
    parser.add_argument("--classes", type=_names, metavar="A,B,C",
                        help="zoo detectors: the class names (a *_custom builder's, or a fine-tuned preset's)")
    parser.add_argument("--seed", type=SEED, default=0, help="seed of the verification input (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (they are off when stderr is no "
                                                             "terminal)")
    parser.add_argument("--image", metavar="PATH",
                        help="verify on this image (resized to the input, raw pixels where --mean/--std/"
                             "--input-scale fold the preprocessing into the model): prints a classifier's top-5 "
                             "classes or a detector's best detections for MXNet and each runtime")
    parser.add_argument("--tolerance", type=_POSITIVE, default=None,
                        help="max |caffe - mxnet| / max |mxnet| allowed (default 1e-4)")
    parser.add_argument("--runtime", choices=RUNTIME_CHOICES,
                        help="runtime for verification: OpenCV's dnn (the Caffe targets' default), pycaffe, "
                             "rknn-toolkit2's simulator (float16), ncnn (ncnn-native's default; the ncnn target's "
                             "files through our translation), or all that run the target's files")
    parser.add_argument("--reference", default="auto", choices=("auto", "mxnet", "interpreter"),
                        help="what verification compares with: MXNet, or (exported files) the NumPy interpreter "
                             "of the graph; default: MXNet where it is installed")


def _add_conversion_arguments(parser) -> None:
    """Every option that changes the converted files; `verify` takes the same ones."""
    from backends import target_names
    from compiler.driver.cli_options import add_option_arguments

    parser.add_argument("--target", default="caffe", choices=target_names(),
                        help="what to write: caffe (BVLC 1.0, default), caffe-ssd, ncnn or rknn (Caffe "
                             "dialects: .prototxt/.caffemodel), or ncnn-native (ncnn's .param/.bin)")
    add_option_arguments(parser, "conversion")


def build_parser() -> argparse.ArgumentParser:
    from compiler.driver.cli_options import add_option_arguments

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
    convert.add_argument("--report", action="store_true",
                         help="print the pass report, write PREFIX.report.json (options, input contract, passes)")
    add_option_arguments(convert, "debug")
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
                             "tolerance, the first blob over it and the outputs' errors into one PNG; with --image "
                             "on a detector: its detections")
    verify.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    from compiler.driver import sweep

    zoo_sweep = commands.add_parser("zoo", help="convert and verify model-zoo networks, each in its own process, and "
                                                "write DIR/coverage.md and DIR/coverage.json")
    sweep.add_arguments(zoo_sweep)
    zoo_sweep.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _check_arguments(args):
    """What the parser cannot check alone, before any work: shapes against the model kind, value counts, names, files.
    Returns the --image pixels (None without --image)."""
    from compiler.driver.families import default_input_shape
    from compiler.driver.loading import is_symbol_file, zoo_arguments
    from passes import REGISTRY

    image = None
    if args.image is not None:
        from compiler.driver.verify.image import read_image

        if args.command == "convert" and not args.verify:
            raise ConversionError("--image is the input of verification", hint="add --verify")
        image = read_image(args.image)   # a bad path or file fails here, before any work
    per_layer = args.command == "verify" and args.per_layer
    if args.plot:
        from backends.writer import check_output_prefix

        if not per_layer and (args.image is None or (args.command == "convert" and not args.verify)):
            raise ConversionError("--plot draws the per-layer comparison (verify --per-layer) or, with --verify "
                                  "--image, a detector's detections", hint="add --per-layer, or --verify --image")
        check_output_prefix(args.plot)   # a missing or unwritable directory fails before any work
    unknown = [name for name in (args.disable_passes if args.command == "convert" else []) if name not in REGISTRY]
    if unknown:
        raise ConversionError(f"--disable-pass {unknown[0]}: no such pass", hint=f"the passes are: {', '.join(REGISTRY)}")
    if args.command == "convert":
        from backends.writer import check_output_prefix

        check_output_prefix(args.output)
    shapes = [shape for _, shape in args.input_shape or []]
    if not is_symbol_file(args.model):
        if len(shapes) > 1:
            raise ConversionError("a zoo model takes one --input-shape")
        if shapes and len(shapes[0]) != 4:
            raise ConversionError(f"--input-shape {','.join(map(str, shapes[0]))}: a zoo model takes N,C,H,W")
        shapes = shapes or [default_input_shape(args.model, zoo_arguments(args))]
    images = [s for s in shapes if len(s) >= 2]
    for flag, values in (("--mean", args.mean), ("--std", args.std)):
        if values is None or not images:
            continue
        channels = images[0][1]
        if len(values) not in (1, channels):
            raise ConversionError(f"{flag} has {len(values)} values; give one, or one per input channel ({channels})")
    return image


def _compile(args, source, shapes, options):
    from compiler.driver.api import compile_model

    return compile_model(source, shapes, target=args.target, options=options, params=args.params)


def run_verification(args, compiled, reference, prototxt: str, caffemodel: str, image) -> bool:
    """Verify the files in every requested runtime; print each verdict (and draw detections with --plot)."""
    from compiler.driver.reference import reference_description
    from compiler.driver.verify import DEFAULT_TOLERANCE, verify_compilation
    from compiler.driver.verify.image import detection_lines
    from compiler.driver.verify.runtimes import runtime_names

    tolerance = args.tolerance if args.tolerance is not None else DEFAULT_TOLERANCE
    verdicts = verify_compilation(compiled, reference, prototxt, caffemodel, runtime_names(args.runtime, args.target),
                                  args.seed,
                                  tolerance, image=image, progress=not args.quiet)
    source = f"the image {args.image}" if image is not None else f"a seeded random input (seed {args.seed})"
    print(f"reference: {reference_description(reference)}")
    for verdict in verdicts:
        print(f"{'detection verification' if verdict.detections else 'verification'} in {verdict.runtime} on "
              f"{source}:")
        lines = verdict.lines() + (detection_lines(*verdict.rows, verdict.runtime) if image is not None and
                                   verdict.rows else [])
        for line in lines:
            print("  " + line)
    if image is not None and args.plot:
        from compiler.driver.verify.image import draw_detections

        found = [v for v in verdicts if v.rows]
        if not found:
            raise ConversionError("--plot with --image draws detections, and this model returns none",
                                  hint="for a classifier the top-5 lines above say it all")
        sides = {"GluonCV": found[0].rows[0], **{v.runtime: v.rows[1] for v in found}}
        print(f"wrote {draw_detections(image, sides, args.plot)}")
    return all(v.ok for v in verdicts)


def cmd_convert(args, image) -> int:
    import json

    from compiler.driver.cli_options import options_from

    reference, shapes, source = _load(args)
    compiled = _compile(args, source, shapes, options_from(args, "conversion", "debug"))
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
        from backends.writer import write_text_atomically

        print(compiled.report.format_table())
        write_text_atomically(args.output + ".report.json", json.dumps(compiled.report_json(), indent=2) + "\n")
    if not compiled.exact:
        print("warning: the output is an approximation; see --report")
    if args.verify and not run_verification(args, compiled, reference(), prototxt, caffemodel, image):
        raise VerificationFailed("the converted model differs from MXNet beyond tolerance",
                                 hint="rerun with --report, --check-ir and --check-numbers; please report the model")
    return 0


def cmd_verify(args, image) -> int:
    from compiler.driver.cli_options import conversion_flags, options_from
    from compiler.driver.verify.same_files import check_same_conversion

    from backends import get_target

    prototxt, caffemodel = get_target(args.target).files.paths(args.prefix)
    for path in (prototxt, caffemodel):
        if not os.path.isfile(path):
            raise ConversionError(f"{path} does not exist", hint="convert the model first")
    reference, shapes, source = _load(args)
    options = options_from(args, "conversion")
    compiled = _compile(args, source, shapes, options)
    check_same_conversion(compiled, lambda varied: _compile(args, source, shapes, varied), args.prefix,
                          f"--target, {conversion_flags()}")
    if args.per_layer:
        from compiler.driver.verify.per_layer import per_layer_command

        compiled = _compile(args, source, shapes, options_from(args, "conversion", inplace=False))
        return per_layer_command(args, compiled, reference())
    if not run_verification(args, compiled, reference(), prototxt, caffemodel, image):
        raise VerificationFailed("the Caffe model differs from MXNet beyond tolerance")
    return 0


def _load(args):
    from compiler.driver.loading import load_model

    return load_model(args)


def cmd_zoo(args, image) -> int:
    from compiler.driver import sweep

    sweep.resolve(args)
    return sweep.sweep(args)


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
        image = _check_arguments(args) if args.command != "zoo" else None
        return {"convert": cmd_convert, "verify": cmd_verify, "zoo": cmd_zoo}[args.command](args, image)
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
