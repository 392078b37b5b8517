"""`gluon2caffe zoo`: convert and verify GluonCV model-zoo networks, each in its own process, and write a coverage
report (DIR/coverage.md and DIR/coverage.json).

A worker (`python -m compiler.driver.sweep --worker NAME ... --result FILE`) builds one model with seeded random
weights, converts it for each requested target and verifies the files in each requested runtime; it writes its
result (compiler/driver/sweep_report.py: ModelResult) to FILE as JSON. The parent runs workers in parallel with a
timeout each, so a crash, a hang or an out-of-memory kill is recorded against that model and the sweep goes on.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

import attrs

from compiler.driver.sweep_report import STATUSES, ModelResult, family_summary, merge_reports, write_report
from compiler.driver.verify.runtimes import RUNTIMES_OF_TARGET

WORKER = "compiler.driver.sweep"   # the module each worker process runs


def _first_lines(exc, count: int = 2) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines()[:count])


def zoo_names() -> list[str]:
    from gluoncv.model_zoo import get_model_list

    return list(get_model_list())


def select(models=None, families=None, tasks=None, names=None) -> list[str]:
    """The zoo names chosen by --models, --family and --task (all of them when none is given); a "family" here is a
    coverage group of compiler/driver/families."""
    names = names if names is not None else zoo_names()
    if models:
        unknown = [m for m in models if m not in names]
        if unknown:
            from compiler.errors import ConversionError

            raise ConversionError(f"not GluonCV model-zoo names: {', '.join(unknown)}",
                                  hint="see gluoncv.model_zoo.get_model_list()")
        return list(models)
    from compiler.driver.families import group_of, known_groups
    from compiler.errors import ConversionError

    groups = known_groups()
    known_families, known_tasks = set(groups), set(groups.values())
    for kind, given, known in (("family", families, known_families), ("task", tasks, known_tasks)):
        unknown = sorted(set(given or ()) - known)
        if unknown:
            raise ConversionError(f"unknown {kind} {', '.join(unknown)}", hint=f"choose from {', '.join(sorted(known))}")
    chosen = []
    for name in names:
        family, task = group_of(name)
        if (not families or family in families) and (not tasks or task in tasks):
            chosen.append(name)
    return chosen


def run_worker(name: str, targets: list[str], runtimes: list[str], input_shape, seed: int, out_dir: str,
               compare_frontends: bool = False) -> dict:
    """Build, convert and verify one model in this process — or, with `compare_frontends`, export it and compare
    what both frontends make of the files; returns a ModelResult as a dict."""
    os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
    os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
    from compiler.driver import zoo
    from compiler.driver.api import compile_model
    from compiler.driver.families import default_input_shape, group_of
    from compiler.driver.verify import verify_compilation
    from compiler.errors import ConversionError, NeedsOtherTarget
    from compiler.options import Options

    family, task = group_of(name)
    shape = tuple(input_shape) if input_shape else default_input_shape(name)
    result = ModelResult(name, family, task, shape)
    try:
        net = zoo.random_zoo_model(name, seed, shape)
    except ConversionError as exc:
        result.status = {t: "refused" for t in targets}
        result.reason = _first_lines(exc)
        return attrs.asdict(result)
    if compare_frontends:
        return _compare_frontends(net, shape, targets, out_dir, result)
    for target in targets:
        start = time.perf_counter()
        try:
            compiled = compile_model(net, shape, target=target, options=Options())
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
        chosen = [r for r in runtimes if r in RUNTIMES_OF_TARGET.get(target, runtimes)]
        if not chosen:   # nothing ran: never "verified"
            result.status[target] = "failed"
            result.add_reason(f"{target}: none of the runtimes {', '.join(runtimes)} runs this target's files")
            continue
        try:
            verdicts = verify_compilation(compiled, net, prototxt, caffemodel, chosen, seed)
        except ConversionError as exc:
            result.status[target] = "failed"
            result.add_reason(f"{target}: verification could not run: {_first_lines(exc, 1)}")
            continue
        for verdict in verdicts:
            result.relative[f"{target}/{verdict.runtime}"] = verdict.worst_relative
            if verdict.lowest_cosine is not None:
                result.cosine[f"{target}/{verdict.runtime}"] = round(verdict.lowest_cosine, 7)
        failed = [v for v in verdicts if not v.ok]
        result.status[target] = "failed" if failed else "verified"
        if failed:
            result.add_reason(f"{target}/{failed[0].runtime}: " + "; ".join(failed[0].failures())[:300])
        for path in (prototxt, caffemodel, prefix + ".decode.json"):   # keep the report, not gigabytes of weights
            if os.path.exists(path):
                os.unlink(path)
    return attrs.asdict(result)


def _compare_frontends(net, shape, targets, out_dir: str, result: ModelResult) -> dict:
    """The exported model converted from its files by our readers and by MXNet's: "verified" means the same bytes."""
    import tempfile

    from compiler.driver.verify.same_files import frontends_difference
    from compiler.driver.zoo import export_block
    from compiler.errors import ConversionError

    with tempfile.TemporaryDirectory(dir=out_dir) as directory:
        symbol, params = export_block(net, shape, os.path.join(directory, result.model))
        for target in targets:
            start = time.perf_counter()
            try:
                differs = frontends_difference(symbol, params, shape, target, os.path.join(directory, target))
            except ConversionError as exc:
                result.status[target] = "refused"
                result.add_reason(f"{target}: {_first_lines(exc)}")
                continue
            result.seconds[target] = round(time.perf_counter() - start, 2)
            result.status[target] = "failed" if differs else "verified"
            if differs:
                result.add_reason(f"{target}: the two frontends' files differ: {differs}")
    return attrs.asdict(result)


def _spawn(name, args, shape) -> ModelResult:
    """One model in a worker process; its result comes back as the JSON file the worker writes (a worker that dies
    writes none: the model crashed)."""
    import tempfile

    from compiler.driver.families import group_of

    family, task = group_of(name)
    with tempfile.TemporaryDirectory() as directory:
        result_path = os.path.join(directory, "result.json")
        command = [sys.executable, "-m", WORKER, "--worker", name, "--targets", ",".join(args.targets),
                   "--runtimes", ",".join(args.runtimes), "--seed", str(args.seed), "-o", args.output,
                   "--result", result_path]
        if shape:
            command += ["--input-shape", ",".join(map(str, shape))]
        if args.compare_frontends:
            command.append("--compare-frontends")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return ModelResult(name, family, task, shape or (), {t: "timeout" for t in args.targets},
                               reason=f"no answer within {args.timeout:g} s")
        if done.returncode != 0 or not os.path.isfile(result_path):
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            why = "killed (out of memory?)" if done.returncode in (-9, 137) else tail[0][:300]
            return ModelResult(name, family, task, shape or (), {t: "crashed" for t in args.targets}, reason=why)
        with open(result_path, encoding="utf-8") as f:
            data = json.load(f)
    data["input_shape"] = tuple(data["input_shape"])
    return ModelResult(**data)


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
    meaning = " (verified: both frontends wrote the same bytes)" if args.compare_frontends else ""
    print(f"{len(results)} runs: " + ", ".join(f"{n} {s}" for s, n in tally.items() if n) + f"{meaning}; wrote {md} "
          f"and {js}")
    return 1 if tally["failed"] or tally["crashed"] or tally["timeout"] else 0


def add_arguments(parser) -> None:
    from backends import target_names
    from compiler.driver.verify.runtimes import RUNTIME_CHOICES

    parser.add_argument("--models", type=lambda s: [m for m in s.split(",") if m], help="comma-separated zoo names")
    parser.add_argument("--family", dest="families", type=lambda s: s.split(","), help="families (see coverage.md)")
    parser.add_argument("--task", dest="tasks", type=lambda s: s.split(","),
                        help="tasks: classification, action, segmentation, pose, depth, detection, …")
    parser.add_argument("--target", default="caffe", choices=target_names() + ["all"])
    parser.add_argument("--runtime", choices=RUNTIME_CHOICES,
                        help="default: each target's first runtime (OpenCV; ncnn for ncnn-native)")
    parser.add_argument("--also-shape", dest="extra_shapes", action="append", default=[], metavar="N,C,H,W",
                        type=lambda s: tuple(int(d) for d in s.split(",")),
                        help="also sweep every model at this input shape (e.g. 1,3,192,256)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="models at a time")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per model (default 900)")
    parser.add_argument("--seed", type=int, default=0, help="random-init and input seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--compare-frontends", action="store_true",
                        help="instead of verifying: export each model and convert the files with our readers and "
                             "with MXNet's; 'verified' means byte-identical prototxt and caffemodel")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the report")


def resolve(args) -> None:
    from backends import target_names
    from compiler.driver.verify.runtimes import runtime_names

    args.targets = target_names() if args.target == "all" else [args.target]
    if args.runtime is None:   # each target's own first runtime
        args.runtimes = list(dict.fromkeys(name for target in args.targets for name in runtime_names(None, target)))
    else:
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
    parser.add_argument("--result", required=True, help="the JSON file the result is written to")
    parser.add_argument("--compare-frontends", action="store_true")
    args = parser.parse_args(argv)
    shape = tuple(int(d) for d in args.input_shape.split(",")) if args.input_shape else None
    result = run_worker(args.worker, args.targets.split(","), args.runtimes.split(","), shape, args.seed, args.output,
                        args.compare_frontends)
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
