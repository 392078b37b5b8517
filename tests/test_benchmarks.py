"""The benchmark entry points run and fail when they should (speed itself is measured by them, not asserted here)."""
import re
from tests.needs import needs_zoo


def test_pass_cost_benchmark_gives_every_pass_work_and_passes_a_linear_limit(capsys):
    from benchmarks.pass_cost import main
    from passes import ORDER

    code = main(["--sizes", "300,600", "--zoo", "", "--limit", "1000"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in ORDER}
    assert set(rows) == set(ORDER)
    assert "nothing to do" not in out and "worst pass ratio" in out


def test_pass_cost_benchmark_exits_non_zero_over_its_limit(capsys):
    """A limit no pass can meet (a time ratio below 0.01 for twice the ops) must fail the run."""
    from benchmarks.pass_cost import main

    code = main(["--sizes", "300,600", "--zoo", "", "--limit", "0.01"])
    out = capsys.readouterr().out
    assert code == 1 and re.search(r"SUPER-LINEAR \(\w+\)", out), out


def test_every_pass_rewrites_something_on_the_synthetic_graph():
    from benchmarks import synthetic
    from compiler.driver.api import run_passes
    from passes import ORDER

    report, _ = run_passes(synthetic.conv_bn_chain(200), synthetic.TARGET, synthetic.OPTIONS)
    assert {r.name: r.rewrites > 0 for r in report.records} == {name: True for name in ORDER}


@needs_zoo
def test_convert_cost_benchmark_reports_every_stage_and_its_figures(capsys):
    from benchmarks.convert_cost import main
    from passes import ORDER

    code = main(["--models", "mobilenet0.25", "--synthetic", "200,400", "--runs", "1", "--time-limits",
                 "mobilenet0.25=1e9", "--rss-limit", "1e9", "--frontend-limit", "1e9"])
    out = capsys.readouterr().out
    assert code == 0, out
    stages = {line.split()[0] for line in out.splitlines() if line.startswith("  ") and len(line.split()) == 3}
    assert {"frontend", "emit", "write"} | set(ORDER) <= stages, out
    for way in ("staged", "compile_model", "seed API"):
        assert re.search(rf"total \({way}\): [0-9.]+ s = [0-9.]+× np.save; peak RSS growth [0-9.]+ MiB = [0-9.]+× "
                         "the weights", out), out
    assert re.search(r"200 → 400 ops: [0-9.]+× the time", out) and "every figure within its limit" in out


@needs_zoo
def test_convert_cost_benchmark_exits_non_zero_over_a_limit(capsys):
    """No conversion takes less than a millionth of np.save's time."""
    from benchmarks.convert_cost import main

    code = main(["--models", "mobilenet0.25", "--synthetic", "", "--runs", "1", "--default-time-limit", "1e-6"])
    out = capsys.readouterr().out
    assert code == 1 and "OVER time limit" in out and out.rstrip().splitlines()[-1].startswith("FAILED"), out


def test_frontend_paths_benchmark_reports_both_paths_and_passes_loose_limits(capsys):
    from benchmarks.frontend_paths import PATHS, main
    from tests.needs import HAS_MXNET

    code = main(["--synthetic", "200,400", "--processes", "1", "--runs", "1", "--cli-model", "",
                 "--us-per-op-limit", "1e6", "--growth-limit", "1e6"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert re.search(r"^\s+400\s+[0-9.]+ s\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+", out, re.M), out
    assert bool(re.search(r"(?<!no) MXNet frontend", out)) == HAS_MXNET and f"{PATHS[0]} frontend" in out
    assert "200 → 400 ops: frontend" in out and "every figure within its limit" in out


def test_frontend_paths_benchmark_exits_non_zero_over_a_limit(capsys):
    """No frontend takes less than a nanosecond per op."""
    from benchmarks.frontend_paths import main

    code = main(["--synthetic", "200", "--processes", "1", "--runs", "1", "--cli-model", "",
                 "--us-per-op-limit", "1e-3"])
    out = capsys.readouterr().out
    assert code == 1 and out.rstrip().splitlines()[-1].startswith("FAILED"), out
