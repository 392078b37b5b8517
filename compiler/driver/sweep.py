"""`gluon2caffe zoo`: convert and verify GluonCV model-zoo networks, each in its own process, and write a coverage
report (DIR/coverage.md and DIR/coverage.json).

A worker (`python -m compiler.driver.sweep --worker NAME ...`) builds one model with seeded random weights,
converts it for each requested target and verifies the files in each requested runtime; it prints one JSON line.
The parent runs workers in parallel with a timeout each, so a crash, a hang or an out-of-memory kill is recorded
against that model and the sweep goes on.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

import attrs

# "other target": the model needs layers this target's dialect lacks by design (an SSD on BVLC Caffe).
STATUSES = ("verified", "other target", "refused", "failed", "crashed", "timeout")
WORKER = "compiler.driver.sweep"   # the module each worker process runs
# pycaffe is BVLC Caffe with the caffe-ssd layers; ncnn's dialect (ReLU6 …) is checked in OpenCV.
RUNTIMES_OF_TARGET = {"caffe": ("opencv", "caffe"), "caffe-ssd": ("opencv", "caffe"), "ncnn": ("opencv",)}


def _first_lines(exc, count: int = 2) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines()[:count])

# (family, task, pattern) in order; the first match names a model's family.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("cifar_residualattentionnet", "classification", r"cifar_residualattentionnet"),
    ("cifar_resnet", "classification", r"cifar_resnet"),
    ("cifar_resnext", "classification", r"cifar_resnext"),
    ("cifar_wideresnet", "classification", r"cifar_wideresnet"),
    ("action_recognition", "action", r"^(vgg16|inceptionv1|inceptionv3|resnet\d+_v1b)_(ucf101|hmdb51|kinetics400|"
                                     r"sthsthv2|custom)$"),
    ("video_3d", "video", r"(i3d|slowfast|c3d|p3d|r2plus1d)"),
    ("int8", "int8", r"_int8$"),
    ("ssd", "detection", r"^ssd_"),
    ("yolo3", "detection", r"^yolo3_"),
    ("center_net", "detection", r"^center_net_"),
    ("faster_rcnn", "detection", r"(faster|doublehead)_rcnn"),
    ("mask_rcnn", "instance_segmentation", r"mask_rcnn"),
    ("fcn", "segmentation", r"^fcn_"),
    ("psp", "segmentation", r"^psp_"),
    ("deeplab", "segmentation", r"^deeplab"),
    ("icnet", "segmentation", r"^icnet_"),
    ("fastscnn", "segmentation", r"^fastscnn"),
    ("danet", "segmentation", r"^danet_"),
    ("hrnet_seg", "segmentation", r"^hrnet_.*_s$"),
    ("simple_pose", "pose", r"^simple_pose"),
    ("mobile_pose", "pose", r"^mobile_pose"),
    ("alpha_pose", "pose", r"^alpha_pose"),
    ("monodepth2", "depth", r"^monodepth2"),
    ("siamrpn", "tracking", r"^siamrpn"),
    ("hrnet", "classification", r"^hrnet_.*_c$"),
    ("mobilenetv3", "classification", r"^mobilenetv3"),
    ("mobilenetv2", "classification", r"^mobilenetv2"),
    ("mobilenet", "classification", r"^mobilenet\d"),
    ("se_resnext", "classification", r"^(se_resnext|senet_)"),
    ("se_resnet", "classification", r"^se_resnet"),
    ("resnest", "classification", r"^resnest"),
    ("shufflenet", "classification", r"^shufflenet"),
    ("resnext", "classification", r"^resnext"),
    ("resnet_pruned", "classification", r"^resnet\d+_v1[bd]_0\.\d+$"),
    ("resnet_gn", "classification", r"^resnet\d+_v1b_gn$"),
    ("resnet_v1b-s", "classification", r"^resnet\d+_v1[bcdes]$"),
    ("resnet_v1", "classification", r"^resnet\d+_v1$"),
    ("resnet_v2", "classification", r"^resnet\d+_v2$"),
    ("residualattention", "classification", r"^residualattentionnet"),
    ("nasnet", "classification", r"^nasnet"),
    ("xception", "classification", r"^xception"),
    ("inception", "classification", r"^inceptionv3$"),
    ("googlenet", "classification", r"^googlenet$"),
    ("densenet", "classification", r"^densenet"),
    ("darknet", "classification", r"^darknet"),
    ("dla", "classification", r"^dla"),
    ("squeezenet", "classification", r"^squeezenet"),
    ("vgg", "classification", r"^vgg\d+"),
    ("alexnet", "classification", r"^alexnet$"),
)


def family_of(name: str) -> tuple[str, str]:
    """(family, task) of a model-zoo name; ("other", "other") when no pattern matches."""
    for family, task, pattern in FAMILIES:
        if re.search(pattern, name):
            return family, task
    return "other", "other"


def zoo_names() -> list[str]:
    from gluoncv.model_zoo import get_model_list

    return list(get_model_list())


def select(models=None, families=None, tasks=None, names=None) -> list[str]:
    """The zoo names chosen by --models, --family and --task (all of them when none is given)."""
    names = names if names is not None else zoo_names()
    if models:
        unknown = [m for m in models if m not in names]
        if unknown:
            from compiler.errors import ConversionError

            raise ConversionError(f"not GluonCV model-zoo names: {', '.join(unknown)}",
                                  hint="see gluoncv.model_zoo.get_model_list()")
        return list(models)
    from compiler.errors import ConversionError

    known_families, known_tasks = {f for f, _, _ in FAMILIES}, {t for _, t, _ in FAMILIES}
    for kind, given, known in (("family", families, known_families), ("task", tasks, known_tasks)):
        unknown = sorted(set(given or ()) - known)
        if unknown:
            raise ConversionError(f"unknown {kind} {', '.join(unknown)}", hint=f"choose from {', '.join(sorted(known))}")
    chosen = []
    for name in names:
        family, task = family_of(name)
        if (not families or family in families) and (not tasks or task in tasks):
            chosen.append(name)
    return chosen


@attrs.define
class ModelResult:
    model: str
    family: str
    task: str
    input_shape: tuple
    status: dict = attrs.field(factory=dict)           # target -> one of STATUSES
    relative: dict = attrs.field(factory=dict)         # "target/runtime" -> worst relative error
    layers: dict = attrs.field(factory=dict)           # target -> layer count
    seconds: dict = attrs.field(factory=dict)          # target -> conversion seconds
    reason: str = ""                                   # why each target that did not verify was refused or failed

    def add_reason(self, reason: str) -> None:
        self.reason = f"{self.reason}; {reason}" if self.reason else reason

    @property
    def worst(self) -> str:
        order = {s: i for i, s in enumerate(STATUSES)}
        considered = [s for s in self.status.values() if s != "other target"] or list(self.status.values())
        return max(considered, key=order.__getitem__) if considered else "crashed"


def run_worker(name: str, targets: list[str], runtimes: list[str], input_shape, seed: int, out_dir: str) -> dict:
    """Build, convert and verify one model in this process; returns a ModelResult as a dict."""
    os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
    os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
    from compiler.driver import verify, zoo
    from compiler.driver.api import compile_model
    from compiler.errors import ConversionError, NeedsOtherTarget
    from compiler.options import Options

    family, task = family_of(name)
    shape = tuple(input_shape) if input_shape else zoo.default_input_shape(name)
    result = ModelResult(name, family, task, shape)
    try:
        net = zoo.random_zoo_model(name, seed, shape)
    except ConversionError as exc:
        result.status = {t: "refused" for t in targets}
        result.reason = _first_lines(exc)
        return attrs.asdict(result)
    options = Options()
    for target in targets:
        start = time.perf_counter()
        try:
            compiled = compile_model(net, shape, target=target, options=options)
            prefix = os.path.join(out_dir, f"{name}.{target}")
            prototxt, caffemodel = compiled.save(prefix)
        except NeedsOtherTarget as exc:
            result.status[target] = "other target"
            result.add_reason(f"{target}: {_first_lines(exc)}")
            continue
        except ConversionError as exc:
            result.status[target] = "refused"
            result.add_reason(f"{target}: {_first_lines(exc)}")
            continue
        result.seconds[target] = round(time.perf_counter() - start, 2)
        result.layers[target] = len(compiled.layers)
        try:
            chosen = [r for r in runtimes if r in RUNTIMES_OF_TARGET.get(target, runtimes)]
            verdicts = verify.verify_files(net, {"data": shape}, prototxt, caffemodel, compiled.output_layers,
                                           [v.name for v in compiled.graph.outputs], options, chosen, seed,
                                           decode=compiled.decode)
        except ConversionError as exc:
            result.status[target] = "failed"
            result.add_reason(f"{target}: verification could not run: {_first_lines(exc, 1)}")
            continue
        for verdict in verdicts:
            result.relative[f"{target}/{verdict.runtime}"] = verdict.worst_relative
        result.status[target] = "verified" if all(v.ok for v in verdicts) else "failed"
        if not all(v.ok for v in verdicts):
            bad = next(v for v in verdicts if not v.ok)
            result.add_reason(f"{target}/{bad.runtime}: " + "; ".join(
                line for line in bad.lines if "FAIL" in line or "DIFFERENT" in line)[:300])
        for path in (prototxt, caffemodel, prefix + ".decode.json"):   # keep the report, not gigabytes of weights
            if os.path.exists(path):
                os.unlink(path)
    return attrs.asdict(result)


def _spawn(name, args, shape) -> ModelResult:
    family, task = family_of(name)
    command = [sys.executable, "-m", WORKER, "--worker", name, "--targets", ",".join(args.targets),
               "--runtimes", ",".join(args.runtimes), "--seed", str(args.seed), "-o", args.output]
    if shape:
        command += ["--input-shape", ",".join(map(str, shape))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return ModelResult(name, family, task, shape or (), {t: "timeout" for t in args.targets},
                           reason=f"no answer within {args.timeout:g} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        why = "killed (out of memory?)" if done.returncode in (-9, 137) else tail[0][:300]
        return ModelResult(name, family, task, shape or (), {t: "crashed" for t in args.targets}, reason=why)
    data = json.loads(lines[-1])
    data["input_shape"] = tuple(data["input_shape"])
    return ModelResult(**data)


def write_report(results: list[ModelResult], targets, runtimes, directory: str, wall: float) -> tuple[str, str]:
    from backends.writer import write_text_atomically

    results = sorted(results, key=lambda r: (r.task, r.family, r.model, r.input_shape))
    document = {"targets": list(targets), "runtimes": list(runtimes), "wall_seconds": round(wall, 1),
                "models": [attrs.asdict(r) for r in results]}
    counts: dict[tuple, dict] = {}
    for r in results:
        for target, status in r.status.items():
            key = (r.task, r.family, input_label(r.model, r.input_shape), target)
            counts.setdefault(key, {}).setdefault(status, 0)
            counts[key][status] += 1
    lines = ["# Model-zoo coverage", "",
             f"Generated by `gluon2caffe zoo` (targets {', '.join(targets)}; runtimes {', '.join(runtimes)}; random "
             f"weights; tolerance 1e-4 relative; wall time {wall / 60:.1f} min).", "",
             "| task | family | input | target | " + " | ".join(STATUSES) + " |",
             "| --- | --- | --- | --- | " + " | ".join("---:" for _ in STATUSES) + " |"]
    for (task, family, shape, target), c in sorted(counts.items()):
        lines.append(f"| {task} | {family} | {shape} | {target} | "
                     + " | ".join(str(c.get(s, 0)) for s in STATUSES) + " |")
    columns = [f"{t}/{rt}" for t in targets for rt in runtimes if rt in RUNTIMES_OF_TARGET.get(t, runtimes)]
    lines += ["", "| model | family | input | " + " | ".join(f"{t}" for t in targets) + " | "
              + " | ".join(f"max rel {c}" for c in columns) + " | layers | seconds | reason |",
              "| --- | --- | --- | " + " | ".join("---" for _ in targets) + " | " + " | ".join("---:" for _ in columns)
              + " | ---: | ---: | --- |"]
    for r in results:
        rel = [f"{r.relative[c]:.1e}" if c in r.relative else "" for c in columns]
        layers = next(iter(r.layers.values()), "")
        seconds = max(r.seconds.values(), default="")
        reason = r.reason.replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {r.model} | {r.family} | {'×'.join(map(str, r.input_shape[1:]))} | "
                     + " | ".join(r.status.get(t, "") for t in targets) + " | " + " | ".join(rel)
                     + f" | {layers} | {seconds} | {reason} |")
    md = write_text_atomically(os.path.join(directory, "coverage.md"), "\n".join(lines) + "\n")
    js = write_text_atomically(os.path.join(directory, "coverage.json"), json.dumps(document, indent=1) + "\n")
    return md, js


def input_label(model: str, shape) -> str:
    """'default' for the model's own input size, else C×H×W."""
    from compiler.driver import zoo

    shape = tuple(shape)
    return "default" if not shape or shape == zoo.default_input_shape(model) else "×".join(map(str, shape[1:]))


def family_summary(document: dict) -> str:
    """Per family: how many models, how many verified for every target at each input, how many refused somewhere
    (the README's summary of a coverage.json)."""
    models = [ModelResult(**{**m, "input_shape": tuple(m["input_shape"])}) for m in document["models"]]
    labels = sorted({input_label(m.model, m.input_shape) for m in models}, key=lambda s: (s != "default", s))
    rows: dict[str, dict] = {}
    for m in models:
        row = rows.setdefault(m.family, {"models": set(), "refused": set(), **{label: 0 for label in labels}})
        row["models"].add(m.model)
        verified = [s == "verified" for s in m.status.values() if s != "other target"]
        if verified and all(verified):
            row[input_label(m.model, m.input_shape)] += 1
        elif any(s == "refused" for s in m.status.values()):
            row["refused"].add(m.model)
    lines = ["| family | models | " + " | ".join(f"verified in every target that has its layers, {label} input"
                                                for label in labels)
             + " | refused at some input (reasons in coverage.md) |", "| --- | ---: | " + " | ".join("---:" for _ in labels) + " | ---: |"]
    for family, row in sorted(rows.items()):
        lines.append(f"| {family} | {len(row['models'])} | " + " | ".join(str(row[label]) for label in labels)
                     + f" | {len(row['refused'])} |")
    return "\n".join(lines)


def merge_reports(paths) -> dict:
    """coverage.json documents as one: a model in a later document replaces every run of it in earlier ones (a
    rerun of some families after a fix, e.g. at a new default input); the targets and runtimes must agree; wall
    times add up."""
    merged: dict = {}
    document = None
    for path in paths:
        with open(path, encoding="utf-8") as f:
            part = json.load(f)
        if document is not None and (part["targets"], part["runtimes"]) != (document["targets"], document["runtimes"]):
            from compiler.errors import ConversionError

            raise ConversionError(f"{path} was swept for other targets or runtimes than {paths[0]}")
        document = document or {**part, "wall_seconds": 0.0}
        document["wall_seconds"] += part["wall_seconds"]
        rerun = {m["model"] for m in part["models"]}
        merged = {key: m for key, m in merged.items() if key[0] not in rerun}
        for m in part["models"]:
            merged[(m["model"], tuple(m["input_shape"]))] = m
    document["models"] = list(merged.values())
    return document


def sweep(args) -> int:
    from tqdm import tqdm

    names = select(args.models, args.families, args.tasks)
    jobs = [(name, None) for name in names] + [(name, tuple(s)) for name in names for s in args.extra_shapes]
    os.makedirs(args.output, exist_ok=True)
    results: list[ModelResult] = []
    tally = {s: 0 for s in STATUSES}
    start = time.perf_counter()
    quiet = args.quiet or not sys.stderr.isatty()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool, \
            tqdm(total=len(jobs), unit="model", disable=quiet, file=sys.stderr) as bar:
        futures = {pool.submit(_spawn, name, args, shape): (name, shape) for name, shape in jobs}
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            results.append(result)
            tally[result.worst] += 1
            bar.set_postfix({s: n for s, n in tally.items() if n}, refresh=False)
            bar.update(1)
            if quiet:
                print(f"{result.model} {'×'.join(map(str, result.input_shape[1:]))}: "
                      + ", ".join(f"{t} {s}" for t, s in result.status.items())
                      + (f" ({result.reason[:120]})" if result.worst != "verified" else ""), flush=True)
    md, js = write_report(results, args.targets, args.runtimes, args.output, time.perf_counter() - start)
    print(f"{len(results)} runs: " + ", ".join(f"{n} {s}" for s, n in tally.items() if n) + f"; wrote {md} and {js}")
    return 1 if tally["failed"] or tally["crashed"] or tally["timeout"] else 0


def add_arguments(parser) -> None:
    from backends import target_names

    parser.add_argument("--models", type=lambda s: [m for m in s.split(",") if m], help="comma-separated zoo names")
    parser.add_argument("--family", dest="families", type=lambda s: s.split(","), help="families (see coverage.md)")
    parser.add_argument("--task", dest="tasks", type=lambda s: s.split(","),
                        help="tasks: classification, action, segmentation, pose, depth, detection, …")
    parser.add_argument("--target", default="caffe", choices=target_names() + ["all"])
    parser.add_argument("--runtime", default="opencv", choices=("opencv", "caffe", "all"))
    parser.add_argument("--also-shape", dest="extra_shapes", action="append", default=[], metavar="N,C,H,W",
                        type=lambda s: tuple(int(d) for d in s.split(",")),
                        help="also sweep every model at this input shape (e.g. 1,3,192,256)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="models at a time")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per model (default 900)")
    parser.add_argument("--seed", type=int, default=0, help="random-init and input seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the report")


def resolve(args) -> None:
    from backends import target_names
    from compiler.driver.verify.runtimes import runtime_names

    args.targets = target_names() if args.target == "all" else [args.target]
    args.runtimes = runtime_names(args.runtime)


def _worker_main(argv) -> int:
    if argv[:1] == ["--summary"] and len(argv) == 2:   # python -m compiler.driver.sweep --summary DIR/coverage.json
        with open(argv[1], encoding="utf-8") as f:
            print(family_summary(json.load(f)))
        return 0
    if argv[:1] == ["--render"] and len(argv) >= 3:    # … --render A.json [B.json …] OUT_DIR: one report again
        document = merge_reports(argv[1:-1])
        results = [ModelResult(**{**m, "input_shape": tuple(m["input_shape"])}) for m in document["models"]]
        os.makedirs(argv[-1], exist_ok=True)
        print(*write_report(results, document["targets"], document["runtimes"], argv[-1], document["wall_seconds"]))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    parser.add_argument("--targets", required=True)
    parser.add_argument("--runtimes", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-shape")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    shape = tuple(int(d) for d in args.input_shape.split(",")) if args.input_shape else None
    result = run_worker(args.worker, args.targets.split(","), args.runtimes.split(","), shape, args.seed, args.output)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
