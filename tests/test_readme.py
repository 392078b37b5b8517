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
