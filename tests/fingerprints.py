"""Fingerprints of the written files (SHA-256 of each prototxt and caffemodel) for a sample of zoo models — one per
family at its default input, every target, with and without --to-bgr and --no-merge-bn — so that a restructuring
can show it writes byte-identical files:

    python -m tests.fingerprints OUT.json                 # write this tree's fingerprints
    python -m tests.fingerprints OUT.json --compare A.json # and compare them with earlier ones (exit 1 on a change)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile

# One model per family (the zoo sweep's families), small ones where the family allows.
SAMPLE = ("resnet18_v1", "resnet18_v1b", "resnet18_v2", "mobilenet0.25", "mobilenetv2_0.25", "mobilenetv3_small",
          "squeezenet1.1", "densenet121", "inceptionv3", "se_resnet18_v1", "resnext50_32x4d", "resnest14",
          "shufflenet_v2", "xception", "nasnet_4_1056", "hrnet_w18_small_v1_c", "darknet53", "alexnet", "googlenet",
          "vgg11", "cifar_resnet20_v1", "cifar_residualattentionnet56", "resnet18_v1b_0.89", "dla34",
          "vgg16_ucf101", "resnet18_v1b_kinetics400", "fcn_resnet50_voc", "psp_resnet50_ade", "deeplab_resnet50_ade",
          "icnet_resnet50_citys", "fastscnn_citys", "hrnet_w18_small_v1_s", "simple_pose_resnet18_v1b",
          "mobile_pose_mobilenetv3_small", "alpha_pose_resnet101_v1b_coco", "monodepth2_resnet18_kitti_mono_640x192",
          "ssd_300_mobilenet0.25_voc", "yolo3_mobilenet0.25_voc", "center_net_resnet18_v1b_voc")
# Segmentation nets at a smaller input than their 480×480 (Fast-SCNN's feature fusion needs a multiple of 32).
SMALL_INPUTS = {"fcn_resnet50_voc": (1, 3, 240, 240), "psp_resnet50_ade": (1, 3, 240, 240),
                "deeplab_resnet50_ade": (1, 3, 240, 240), "icnet_resnet50_citys": (1, 3, 240, 240),
                "fastscnn_citys": (1, 3, 256, 256), "hrnet_w18_small_v1_s": (1, 3, 240, 240)}
VARIANTS = {"default": {}, "to_bgr": {"to_bgr": True}, "no_merge_bn": {"merge_bn": False}}
TARGETS = ("caffe", "caffe-ssd", "ncnn")


def fingerprints(models=SAMPLE) -> dict:
    from compiler.driver import zoo
    from compiler.driver.api import compile_model
    from compiler.driver.families import default_input_shape
    from compiler.errors import ConversionError

    found = {}
    with tempfile.TemporaryDirectory() as directory:
        for name in models:
            shape = SMALL_INPUTS.get(name) or default_input_shape(name)
            try:
                net = zoo.random_zoo_model(name, 0, shape)
            except ConversionError as exc:
                found[name] = f"not built: {exc}"
                continue
            for target in TARGETS:
                for variant, fields in VARIANTS.items():
                    key = f"{name}/{target}/{variant}"
                    try:
                        compiled = compile_model(net, shape, target=target, **fields)
                        compiled.save(os.path.join(directory, "model"))
                    except ConversionError as exc:
                        found[key] = f"refused: {type(exc).__name__}"
                        continue
                    found[key] = {}
                    for written in sorted(os.listdir(directory)):   # prototxt, caffemodel, decode.json
                        path = os.path.join(directory, written)
                        with open(path, "rb") as f:
                            found[key][written.partition(".")[2]] = hashlib.sha256(f.read()).hexdigest()
                        os.unlink(path)
            print(name, file=sys.stderr, flush=True)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--compare", metavar="EARLIER.json")
    parser.add_argument("--models", type=lambda s: s.split(","), default=list(SAMPLE))
    args = parser.parse_args(argv)
    return write_and_compare(fingerprints(args.models), args.output, args.compare)


def write_and_compare(found: dict, output: str, earlier_path: str | None) -> int:
    """Write fingerprints to OUTPUT; with `earlier_path`, name every key whose fingerprint changed (exit status 1)."""
    with open(output, "w", encoding="utf-8") as f:
        json.dump(found, f, indent=1, sort_keys=True)
    if not earlier_path:
        return 0
    with open(earlier_path, encoding="utf-8") as f:
        earlier = json.load(f)
    changed = sorted(k for k in set(found) | set(earlier) if found.get(k) != earlier.get(k))
    for key in changed:
        print(f"changed: {key}: {earlier.get(key)} -> {found.get(key)}")
    print(f"{len(found)} fingerprints, {len(changed)} changed against {earlier_path}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
