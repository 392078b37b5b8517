"""The README's generated parts match the code."""
from compiler.driver import optable


def test_supported_ops_table_is_generated_from_the_registries():
    text = optable.README.read_text(encoding="utf-8")
    assert optable.readme_section(text) == optable.table(), \
        "README's op table is stale: run python -m compiler.driver.optable --write"


def test_the_table_lists_every_mxnet_op_the_frontend_accepts():
    from compiler.frontend.table import supported_ops

    table = optable.table()
    assert all(f"`{name}`" in table for name in supported_ops())


def test_the_readme_coverage_tables_are_the_committed_reports():
    """Each per-family table in the README is what `python -m compiler.driver.sweep --summary` prints for the
    committed coverage JSON it summarises."""
    import json

    from compiler.driver import sweep

    text = optable.README.read_text(encoding="utf-8")
    for report in sorted((optable.README.parent / "docs" / "coverage").glob("*.json")):
        summary = sweep.family_summary(json.loads(report.read_text(encoding="utf-8")))
        assert summary in text, f"README's table for {report.name} is stale: rerun --summary {report}"
