"""The documentation's generated parts match the code, and every document is reachable from the README."""
import pathlib
import re

from compiler.driver import optable

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_ops_table_is_generated_from_the_registries():
    text = optable.OPS_DOC.read_text(encoding="utf-8")
    assert optable.section(text) == optable.table(), \
        "docs/ops.md's op table is stale: run python -m compiler.driver.optable --write"


def test_the_options_table_is_generated_from_the_options():
    text = optable.GUIDE.read_text(encoding="utf-8")
    assert optable.section(text, optable.OPTIONS_BEGIN, optable.OPTIONS_END) == optable.options_table(), \
        "docs/guide.md's options table is stale: run python -m compiler.driver.optable --write"


def test_the_table_lists_every_mxnet_op_the_frontend_accepts():
    from compiler.frontend.lowering import supported_ops

    table = optable.table()
    assert all(f"`{name}`" in table for name in supported_ops())


def test_the_coverage_tables_are_the_committed_reports():
    """Each per-family table in docs/coverage/README.md is what `python -m compiler.driver.sweep --summary` prints for
    the committed coverage JSON it summarises."""
    import json

    from compiler.driver import sweep

    text = (ROOT / "docs" / "coverage" / "README.md").read_text(encoding="utf-8")
    for report in sorted((ROOT / "docs" / "coverage").glob("*.json")):
        summary = sweep.family_summary(json.loads(report.read_text(encoding="utf-8")))
        assert summary in text, f"the coverage table for {report.name} is stale: rerun --summary {report}"


def _links(path: pathlib.Path) -> set[pathlib.Path]:
    text = path.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    return {(path.parent / t).resolve() for t in targets if not t.startswith("http")}


def test_every_link_resolves_and_every_document_is_reachable_from_the_readme():
    documents = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = [f"{d.relative_to(ROOT)} → {t}" for d in documents for t in _links(d) if not t.exists()]
    assert broken == []
    reached, frontier = {ROOT / "README.md"}, [ROOT / "README.md"]
    while frontier:
        for target in _links(frontier.pop()):
            if target.suffix == ".md" and target not in reached:
                reached.add(target)
                frontier.append(target)
    generated = {"classification.md", "dense.md"}   # the sweep's reports, reached through coverage/README.md
    assert [d.relative_to(ROOT) for d in documents if d not in reached and d.name not in generated] == []


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
