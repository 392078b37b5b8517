"""The architecture itself: the layering, pass contracts, op definitions and emitters.

Layers, lowest first — each may import only from the layers before it (plus the standard library, numpy, attrs):
  core      compiler.errors, compiler.options, compiler.contract, compiler.policy, compiler.ir, compiler.ops
  frontend  compiler.frontend (MXNet → IR; the only layer below the driver that imports mxnet)
  passes    passes (IR → IR: imports only the core)
  backends  backends (IR → Caffe files: imports the core and protobuf, never mxnet or passes)
  driver    compiler.driver (API, CLI, zoo, verification: the only code that joins passes and backends)
"""
import ast
import pathlib
import sys

from compiler.ir.opdef import HOOKS, REGISTRY

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE = ("compiler.errors", "compiler.options", "compiler.contract", "compiler.policy", "compiler.ir", "compiler.ops",
        "compiler.compat")
THIRD_PARTY = {"numpy", "attrs"}


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def _outside(package: str, allowed) -> list[str]:
    def fine(module: str) -> bool:
        top = module.split(".")[0]
        return (top in sys.stdlib_module_names or top in THIRD_PARTY or top == "__future__"
                or any(module == a or module.startswith(a + ".") for a in allowed))
    return sorted(f"{file} imports {module}" for file, module in _imports(package) if not fine(module))


def test_core_imports_only_the_core():
    for package in ("compiler/ir", "compiler/ops"):
        assert _outside(package, CORE) == []


def test_passes_import_only_the_ir():
    assert _outside("passes", CORE + ("passes",)) == []


def test_backends_never_import_mxnet_or_passes():
    assert _outside("backends", CORE + ("backends", "google.protobuf")) == []


def test_frontend_imports_no_pass_backend_or_driver():
    assert _outside("compiler/frontend", CORE + ("compiler.frontend", "mxnet")) == []


def test_only_the_driver_imports_passes_and_backends():
    production = [p for p in ("compiler", "passes", "backends", "benchmarks")]
    offenders = []
    for package in production:
        for file, module in _imports(package):
            if file.startswith("compiler/driver/"):
                continue
            joins = module.split(".")[0] in ("passes", "backends")
            own = file.split("/")[0] == module.split(".")[0]
            if joins and not own:
                offenders.append(f"{file} imports {module}")
    assert sorted(offenders) == []


def test_every_pass_states_its_contract_and_lives_in_its_own_file():
    from passes import PASSES

    for p in PASSES:
        assert p.contract.pattern and p.contract.emits and p.contract.exact, p.name
        assert (ROOT / "passes" / f"{p.name}.py").exists(), f"pass {p.name} is not in a file of its own name"
        assert p.produces is not None, f"{p.name} does not declare what it adds"
        assert all(reason.strip() for reason in (*p.after.values(), *p.before.values())), p.name
    listed = {p.name for p in PASSES}
    files = {f.stem for f in (ROOT / "passes").glob("*.py")} - {"__init__", "manager"}
    assert files == listed, "every pass file is in the one ordered list, and nothing else is (shared code: support/)"


def test_the_pass_order_is_checked_against_the_declared_constraints():
    from passes import PASSES
    from passes.manager import ordering_problems

    assert ordering_problems(PASSES) == []
    swapped = list(PASSES)
    first, second = next((i, [q.name for q in PASSES].index(name)) for i, p in enumerate(PASSES)
                         for name in p.before)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    assert ordering_problems(swapped), "a pass moved after one it must precede is reported"


def _string_comparisons(tree) -> list[int]:
    """Lines comparing an attribute (op.kind, op.attrs.op, ctx.options.relu6, …) with a string literal."""
    def is_string(node):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(is_string(e) for e in node.elts)
        return isinstance(node, ast.Constant) and isinstance(node.value, str)
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Attribute) and any(is_string(c) for c in node.comparators)]


def test_passes_read_traits_and_typed_attributes_not_strings():
    """`op.kind == "..."` or `op.attrs.op == "greater"` in a pass would hide which ops and sub-kinds it handles from
    the op definitions: passes test op classes, traits, enum members and the ops' own methods."""
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in (ROOT / "passes").rglob("*.py")
                 for line in _string_comparisons(ast.parse(path.read_text()))]
    assert offenders == []


def test_an_mxnet_op_name_has_one_claim():
    import attrs
    import pytest

    from compiler.frontend.lowering import COMPOSITES, NoAttributes, composite
    from compiler.ir.opdef import MXNET_CLAIMS, op_def

    assert set(COMPOSITES) <= set(MXNET_CLAIMS)
    assert all(MXNET_CLAIMS[name] in REGISTRY for d in REGISTRY.values() for name in d.mxnet)
    with pytest.raises(TypeError, match="claimed by both"):
        composite("Convolution", builds=(), attributes=NoAttributes)(lambda ctx: None)
    with pytest.raises(TypeError, match="claimed by both"):
        @op_def(mxnet=("BatchNorm",))
        @attrs.frozen
        class SecondBatchNorm:
            """A second claim."""

            def infer(self, x):
                return x
    assert "SecondBatchNorm" not in REGISTRY


def test_every_op_declares_a_shape_rule_and_its_trait_hooks():
    for definition in REGISTRY.values():
        assert callable(getattr(definition.cls, "infer", None)) and definition.summary, definition.kind
        for trait in definition.traits:
            hooks = HOOKS[trait]
            for hook in (hooks,) if isinstance(hooks, str) else hooks or ():
                assert hasattr(definition.cls, hook), f"{definition.kind} lacks {hook} for {trait.name}"


def test_every_emitter_has_an_op_and_a_target():
    from backends import TARGETS
    from backends.emitters import EMITTERS

    all_layers = set().union(*(t.layers for t in TARGETS.values()))
    for emitter in EMITTERS.values():
        assert emitter.kind in REGISTRY
        assert emitter.layers <= all_layers, f"{emitter.kind} declares layers no dialect has"


def test_every_target_drops_only_known_passes():
    from backends import TARGETS
    from passes import ORDER

    for target in TARGETS.values():
        assert set(target.dropped_passes) <= set(ORDER), target.name
    assert ORDER[-1] == "eliminate_dead_code"


def test_pass_tests_need_no_mxnet():
    """tests/passes build the IR in Python and compare numbers with the reference interpreter."""
    for path in sorted((ROOT / "tests" / "passes").glob("*.py")):
        modules = {module for _, module in _imports_of(path)}
        assert not any(m == "mxnet" or m.startswith(("mxnet.", "gluoncv", "tests.helpers", "tests.lowering"))
                       for m in modules), path.name


def _imports_of(path: pathlib.Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {(path.name, alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((path.name, node.module))
    return found
