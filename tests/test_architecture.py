"""The architecture itself: the layering, pass contracts, op definitions and emitters.

Layers, lowest first — each may import only from the layers before it (plus the standard library, numpy, attrs):
  core      compiler.errors, compiler.options, compiler.ir, compiler.ops
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
CORE = ("compiler.errors", "compiler.options", "compiler.ir", "compiler.ops")
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
        assert p.pattern and p.emits and p.exact, p.name
        assert (ROOT / "passes" / f"{p.name}.py").exists(), f"pass {p.name} is not in a file of its own name"
        assert p.produces is not None, f"{p.name} does not declare what it adds"
    listed = {p.name for p in PASSES}
    files = {f.stem for f in (ROOT / "passes").glob("*.py")} - {"__init__", "manager", "weights", "broadcasting"}
    assert files == listed, "every pass file is in the one ordered list, and nothing else is"


def test_passes_read_traits_not_kind_strings():
    """`op.kind == "..."` in a pass would hide which ops it handles from the op definitions."""
    for path in (ROOT / "passes").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "kind":
                raise AssertionError(f"{path.name}:{node.lineno} compares an op kind")


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
