"""The benchmark entry points run and fail when they should (speed itself is measured by them, not asserted here)."""
import re


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

    report = run_passes(synthetic.conv_bn_chain(200), synthetic.TARGET, synthetic.OPTIONS)
    assert {r.name: r.rewrites > 0 for r in report.records} == {name: True for name in ORDER}
