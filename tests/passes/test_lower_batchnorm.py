from compiler.ops import BatchNorm
from tests.passes.helpers import IR, check, kinds


def _batchnorm():
    ir = IR()
    x = ir.input((1, 3, 5, 5))
    stats = [ir.weight((3,), between=(0.5, 2.0)), ir.weight((3,)), ir.weight((3,)), ir.weight((3,), between=(0.5, 2))]
    return ir.output(ir(BatchNorm(fix_gamma=False), x, *stats, name="bn"))


def test_an_unfoldable_batchnorm_becomes_one_scale():
    result, _, graph = check("lower_batchnorm", _batchnorm)
    assert result.rewrites == 1 and kinds(graph) == ["Scale"]


def test_batchnorm_is_kept_without_merge_bn():
    result, _, graph = check("lower_batchnorm", _batchnorm, merge_bn=False)
    assert result.rewrites == 0 and kinds(graph) == ["BatchNorm"]
