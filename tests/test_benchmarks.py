"""The benchmark entry points run (speed itself is measured by them, not asserted here)."""


def test_pass_cost_benchmark_runs_on_small_graphs(capsys):
    from benchmarks.pass_cost import main
    from passes import REGISTRY

    assert main(["--sizes", "90,180", "--zoo", ""]) == 0
    out = capsys.readouterr().out
    for name in ("fold_batchnorm", "clip_to_relu", "(walk baseline)", "time ratio synthetic 180 / synthetic 90"):
        assert name in out
    assert all(name in out for name in REGISTRY if name in __import__("backends").get_target("caffe").pipeline)
