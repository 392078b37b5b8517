"""The architecture itself: import boundaries, pass contracts, op definitions and emitters."""
import ast
import pathlib

from compiler.ir.opdef import REGISTRY

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        if path.name.endswith("_pb2.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def test_import_boundaries():
    def offenders(package, forbidden):
        return sorted(f"{file} imports {module}" for file, module in _imports(package)
                      if any(module == f or module.startswith(f + ".") for f in forbidden))

    # Passes and backends never need MXNet; backends do not reach into passes; the IR needs neither.
    assert offenders("passes", ["mxnet", "gluoncv", "backends", "compiler.frontend", "compiler.api"]) == []
    assert offenders("backends", ["mxnet", "gluoncv", "passes", "compiler.frontend", "compiler.api"]) == []
    assert offenders("compiler/ir", ["mxnet", "passes", "backends", "compiler.frontend"]) == []
    assert offenders("compiler/ops", ["mxnet", "passes", "backends", "compiler.frontend"]) == []


def test_every_pass_states_its_contract():
    from passes import PASSES

    for p in PASSES:
        assert p.pattern and p.emits and p.exact, p.name
        assert (ROOT / "passes" / f"{p.name}.py").exists(), f"pass {p.name} is not in a file of its own name"


def test_every_op_has_a_shape_rule_and_every_emitter_a_target():
    from backends import _targets
    from backends.emitters import EMITTERS

    assert all(callable(getattr(d.cls, "infer", None)) and d.cls.__doc__ for d in REGISTRY.values())
    all_layers = set().union(*(t.layers for t in _targets().values()))
    for emitter in EMITTERS.values():
        assert emitter.kind in REGISTRY
        assert emitter.layers & all_layers, f"no target has a layer for {emitter.kind}"


def test_every_target_pipeline_names_known_passes():
    from backends import _targets
    from passes import REGISTRY as PASSES

    for target in _targets().values():
        assert set(target.pipeline) <= set(PASSES), target.name
        assert target.pipeline[-1] == "eliminate_dead_code"
