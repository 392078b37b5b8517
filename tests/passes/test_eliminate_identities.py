from compiler.ops import Activation, Convolution, Copy, Dropout, Pooling, Reshape, Transpose
from tests.passes.helpers import IR, check, kinds


def _conv(ir, x, name):
    return ir(Convolution(num_filter=4, kernel=3, pad=1), x, ir.weight((4, 3, 3, 3)), name=name)


def test_dropout_copy_and_identity_reshape_are_removed():
    def build():
        ir = IR()
        y = _conv(ir, ir.input((1, 3, 6, 6)), "c")
        y = ir(Dropout(p=0.3), y, name="drop")
        y = ir(Copy(), y, name="copy")
        y = ir(Reshape(shape=(1, 4, 6, 6)), y, name="same")
        return ir.output(ir(Activation(act_type="relu"), y, name="r"))
    result, _, graph = check("eliminate_identities", build)
    assert result.rewrites == 3 and kinds(graph) == ["Convolution", "Activation"]


def test_a_real_reshape_and_dropout_always_stay():
    def build():
        ir = IR()
        y = ir(Dropout(mode="always"), _conv(ir, ir.input((1, 3, 6, 6)), "c"), name="drop")
        return ir.output(ir(Reshape(shape=(1, 144)), y, name="flat"))
    graph = build()
    from tests.passes.helpers import run

    result, ctx = run("eliminate_identities", graph)
    assert result.rewrites == 0 and kinds(graph) == ["Convolution", "Dropout", "Reshape"]
    assert "always" in ctx.skipped[0][1]


def test_a_transpose_of_unit_axes_becomes_a_reshape_and_a_real_one_stays():
    def build():
        ir = IR()
        x = ir.input((1, 3, 6, 6))
        pooled = ir(Pooling(global_pool=True, kernel=(1, 1)), _conv(ir, x, "c"), name="gap")
        unit = ir(Transpose(axes=(0, 2, 3, 1)), pooled, name="unit")
        real = ir(Transpose(axes=(0, 2, 3, 1)), _conv(ir, x, "d"), name="real")
        return ir.output(unit, real)
    result, _, graph = check("eliminate_identities", build)
    assert result.rewrites == 1 and sorted(kinds(graph)) == ["Convolution", "Convolution", "Pooling", "Reshape",
                                                            "Transpose"]
