"""Same bytes on every Python: exported files convert to the same prototxt and caffemodel on Python 3.11 with MXNet
(numpy 1.x) and on Python 3.12+ without it (numpy 2), and the files verify in OpenCV against the reference there is
(MXNet, or the NumPy interpreter). .ci/run exports a sample of zoo models on 3.11, fingerprints every conversion,
and compares the fingerprints the 3.13 install writes for the same files:

    python -m tests.cross_python export DIR                  # 3.11 + MXNet: the zoo sample, exported into DIR
    python -m tests.cross_python fingerprints DIR OUT.json   # any Python: convert, verify and fingerprint
    python -m tests.cross_python fingerprints DIR OUT.json --compare 311.json   # and compare (exit 1 on a change)

The sample: every real checkpoint of ../shared/wild_models/ (a 2016 `param`-style MTCNN, a hand-written ReLU6
MobileFaceNet, a classifier), and exported zoo models: a classifier, MobileNetV3 (hard-swish), MobileNetV2 (ReLU6).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile

from tests.fingerprints import write_and_compare

ZOO_SAMPLE = ("resnet18_v1", "mobilenetv3_small", "mobilenetv2_0.25")
SHAPE = "1,3,224,224"
TARGETS = ("caffe", "caffe-ssd", "ncnn")


def export(directory: str) -> None:
    from compiler.driver.zoo import export_block, random_zoo_model

    shape = tuple(map(int, SHAPE.split(",")))
    os.makedirs(directory, exist_ok=True)
    for name in ZOO_SAMPLE:
        export_block(random_zoo_model(name, 0, shape), shape, os.path.join(directory, name))


def _models(directory: str) -> dict[str, tuple[str, str, str]]:
    """name -> (symbol, params, input shape) of every exported model in DIR and every real checkpoint."""
    from tests.wild import CHECKPOINTS, files_of, require_wild_models

    require_wild_models()
    models = {f"wild/{folder}": files_of(folder) for folder in CHECKPOINTS}
    for name in ZOO_SAMPLE:
        models[f"zoo/{name}"] = (os.path.join(directory, f"{name}-symbol.json"),
                                 os.path.join(directory, f"{name}-0000.params"), SHAPE)
    return models


def fingerprints(directory: str) -> dict[str, str]:
    """'model target' -> SHA-256 of its prototxt and caffemodel, each conversion verified in OpenCV (CLI exit 0)."""
    from compiler.driver.cli import main

    found = {}
    with tempfile.TemporaryDirectory() as out:
        for name, (symbol, params, shape) in _models(directory).items():
            for target in TARGETS:
                prefix = os.path.join(out, "model")
                code = main(["convert", symbol, "--params", params, "--input-shape", shape, "--target", target,
                             "-o", prefix, "--verify", "--quiet", "--runtime", "opencv"])
                if code != 0:
                    raise SystemExit(f"{name} {target}: the conversion or its verification failed (exit {code})")
                digest = hashlib.sha256()
                for suffix in (".prototxt", ".caffemodel"):
                    with open(prefix + suffix, "rb") as f:
                        digest.update(f.read())
                found[f"{name} {target}"] = digest.hexdigest()
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("directory")
    fp = sub.add_parser("fingerprints")
    fp.add_argument("directory")
    fp.add_argument("output")
    fp.add_argument("--compare", metavar="JSON")
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.directory)
        return 0
    found = fingerprints(args.directory)
    print(f"{len(found)} conversions verified in OpenCV and fingerprinted on Python {sys.version.split()[0]}")
    return write_and_compare(found, args.output, args.compare)

if __name__ == "__main__":
    sys.exit(main())
