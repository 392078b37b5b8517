from compiler.ops import Convolution, Scale, Transpose
from tests.passes.helpers import IR, check, kinds


def test_export_block_preprocessing_becomes_an_nchw_input():
    """GluonCV's export_block puts (x − mean) / std in NHWC, then a transpose, in front of the network: the input
    then takes NCHW, and the contract says so (the same pixels, transposed)."""
    def build():
        ir = IR()
        x = ir.input((1, 8, 8, 3))
        x = ir(Scale(axis=3), x, ir.const([1 / 58.395, 1 / 57.12, 1 / 57.375]), ir.const([-2.1, -2.0, -1.8]))
        x = ir(Transpose(axes=(0, 3, 1, 2)), x)
        return ir.output(ir(Convolution(num_filter=4, kernel=3), x, ir.weight((4, 3, 3, 3)), name="c"))
    result, ctx, graph = check("reorder_input_layout", build)
    assert result.rewrites == 1 and kinds(graph) == ["Scale", "Convolution"]
    assert graph.inputs[0].type.shape == (1, 3, 8, 8) and ctx.inputs["data"].channels_last
    assert all(op.attrs.axis == 1 for op in graph.ops_of(Scale))
