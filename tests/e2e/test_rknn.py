"""The rknn target in Rockchip's own toolkit (rknn-toolkit2's simulator, tests/runtimes/build_rknn.sh): its exact
rewrites verify in OpenCV and pycaffe at 1e-4 and in the simulator at its float16 tolerance, and the layers the
toolkit would drop are caught from its log. (Every family on rknn: tests/e2e/test_zoo_families.py.)"""
import pytest

from tests.helpers import available_runtimes
from tests.needs import needs_mxnet, needs_zoo

pytestmark = [needs_mxnet, pytest.mark.rknn]


def _elu_and_exp_net():
    """Convolutions around an ELU and an exp: the two layers the toolkit drops."""
    import mxnet as mx
    from mxnet.gluon import nn

    class Net(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.c1, self.elu, self.c2 = nn.Conv2D(8, 3, padding=1), nn.ELU(alpha=0.7), nn.Conv2D(4, 1)

        def hybrid_forward(self, F, x):
            y = self.c2(self.elu(self.c1(x)))
            return y + F.exp(y * 0.3)

    mx.random.seed(3)
    net = Net()
    net.initialize(mx.init.Xavier())
    return net


def test_elu_and_exp_are_exact_compositions_that_the_toolkit_runs(tmp_path):
    from compiler.driver.api import compile_model
    from compiler.driver.verify import verify_compilation

    net = _elu_and_exp_net()
    compiled = compile_model(net, (1, 3, 16, 16), target="rknn")
    types = {layer.type for layer in compiled.layers}
    assert not types & {"ELU", "Exp"} and {"Sigmoid", "Eltwise", "Power"} <= types, types
    prototxt, caffemodel = compiled.save(str(tmp_path / "net"))
    verdicts = verify_compilation(compiled, net, prototxt, caffemodel, [*available_runtimes(), "rknn"])
    by_runtime = {v.runtime: v for v in verdicts}
    for runtime in available_runtimes():   # the rewrites are exact
        assert by_runtime[runtime].ok and by_runtime[runtime].worst_relative <= 1e-4, by_runtime[runtime]
    simulated = by_runtime["rknn"]
    assert simulated.ok, simulated
    assert all(t.cosine >= 0.999 and t.relative <= 2e-2 for t in simulated.tensors), simulated


def test_the_toolkit_dropping_a_layer_fails_verification(tmp_path):
    """The vanilla caffe target writes ELU and Exp; the toolkit drops both and still returns numbers."""
    from compiler.driver.api import compile_model
    from compiler.driver.verify.runtimes import run_rknn
    from compiler.errors import ConversionError

    compiled = compile_model(_elu_and_exp_net(), (1, 3, 16, 16), target="caffe")
    prototxt, caffemodel = compiled.save(str(tmp_path / "net"))
    import numpy as np

    with pytest.raises(ConversionError, match=r"dropped 2 layer\(s\)") as caught:
        run_rknn(prototxt, caffemodel, {"data": np.zeros((1, 3, 16, 16), np.float32)}, compiled.output_layers)
    assert "elu" in str(caught.value) and "exp" in str(caught.value)


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_a_strided_one_by_one_pooling_subsamples_by_convolution(tmp_path, pool):
    """Caffe rounds a 1×1 stride-2 pooling of an even input up and the converter cuts the extra row with a Slice;
    the toolkit rejects that Pooling, so rknn files subsample with a depthwise 1×1 convolution of weight 1."""
    import mxnet as mx
    from mxnet.gluon import nn

    from compiler.driver.api import compile_model
    from compiler.driver.verify import verify_compilation

    net = nn.HybridSequential()
    layer = nn.AvgPool2D(pool_size=1, strides=2, count_include_pad=False) if pool == "avg" else \
        nn.MaxPool2D(pool_size=1, strides=2)
    net.add(nn.Conv2D(6, 3, padding=1), layer, nn.Conv2D(3, 1))
    mx.random.seed(5)
    net.initialize(mx.init.Xavier())
    compiled = compile_model(net, (1, 3, 12, 10), target="rknn")
    assert "Pooling" not in {layer.type for layer in compiled.layers}
    prototxt, caffemodel = compiled.save(str(tmp_path / "net"))
    verdicts = verify_compilation(compiled, net, prototxt, caffemodel, [*available_runtimes(), "rknn"])
    assert all(v.ok for v in verdicts), verdicts
    assert all(v.worst_relative <= 1e-4 for v in verdicts if v.runtime != "rknn"), verdicts



def test_an_output_that_other_layers_read_comes_back_from_the_toolkit(tmp_path):
    """The toolkit returns only blobs no layer reads; an output that feeds further layers (ICNet's auxiliary heads)
    is copied to a blob of its own on this target, and the toolkit returns it."""
    import mxnet as mx
    from mxnet.gluon import nn

    from compiler.driver.api import compile_model
    from compiler.driver.verify import verify_compilation

    class TwoHeads(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.head, self.more = nn.Conv2D(4, 3, padding=1), nn.Conv2D(2, 3, strides=2)

        def hybrid_forward(self, F, x):
            head = self.head(x)
            return head, self.more(head)

    mx.random.seed(7)
    net = TwoHeads()
    net.initialize(mx.init.Xavier())
    compiled = compile_model(net, (1, 3, 12, 12), target="rknn")
    prototxt, caffemodel = compiled.save(str(tmp_path / "net"))
    read = {bottom for layer in compiled.layers for bottom in layer.bottoms}
    assert not read & {layer.tops[0] for layer in compiled.layers if layer.name in compiled.output_layers}
    verdicts = verify_compilation(compiled, net, prototxt, caffemodel, [*available_runtimes(), "rknn"])
    assert all(v.ok and len(v.tensors) == 2 for v in verdicts), verdicts
    assert all(v.worst_relative <= 1e-4 for v in verdicts if v.runtime != "rknn"), verdicts
    plain = compile_model(net, (1, 3, 12, 12), target="caffe")   # other targets keep the one blob
    assert plain.output_layers[0] in {bottom for layer in plain.layers for bottom in layer.bottoms}


@pytest.mark.parametrize("begin, end", [(0, 1), (1, 2), (1, 3)])
def test_the_parts_of_a_slice_left_unread_are_outputs_not_a_silence(tmp_path, begin, end):
    """A score map cut from a softmax (lffd_plate_small's heads): behind a Silence of the part left unread the toolkit
    returned that part under the kept part's name, so this target writes no Silence and the unread parts are extra
    outputs, which verification maps back by name."""
    import mxnet as mx
    from mxnet.gluon import nn

    from compiler.driver.api import compile_model
    from compiler.driver.verify import verify_compilation

    class Scores(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.score, self.box = nn.Conv2D(4, 3, padding=1), nn.Conv2D(4, 1)

        def hybrid_forward(self, F, x):
            scores = F.slice_axis(F.softmax(self.score(x), axis=1), axis=1, begin=begin, end=end)
            return scores, self.box(x)

    mx.random.seed(11)
    net = Scores()
    net.initialize(mx.init.Xavier(magnitude=6))
    compiled = compile_model(net, (1, 3, 10, 12), target="rknn")
    assert "Silence" not in {layer.type for layer in compiled.layers}
    prototxt, caffemodel = compiled.save(str(tmp_path / "net"))
    verdicts = verify_compilation(compiled, net, prototxt, caffemodel, [*available_runtimes(), "rknn"])
    assert all(v.ok and len(v.tensors) == 2 for v in verdicts), verdicts
    assert all(v.worst_relative <= 1e-4 for v in verdicts if v.runtime != "rknn"), verdicts
    assert "Silence" in {layer.type for layer in compile_model(net, (1, 3, 10, 12), target="caffe").layers}


@pytest.mark.parametrize("axes", [(0, 2, 3, 1), (0, 3, 1, 2), (0, 1, 3, 2), (0, 2, 1, 3), (0, 3, 2, 1)])
def test_a_transpose_is_a_permute_where_the_toolkit_takes_its_order(tmp_path, axes):
    """The toolkit computes caffe-ssd's Permute; the orders its optimizer survives beside Reshape and Concat are
    Permute layers (an SSD head's flatten), the others stay Slices and Concats (YOLOv3's (0, 2, 1, 3))."""
    import mxnet as mx
    from mxnet.gluon import nn

    from backends import get_target
    from compiler.driver.api import compile_model
    from compiler.driver.verify import verify_compilation

    class Heads(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2D(6, 3, padding=1), nn.Conv2D(6, 3, strides=2, padding=1)

        def hybrid_forward(self, F, x):   # two heads of different sizes, transposed, flattened and joined
            return F.concat(*(F.flatten(F.transpose(head(x), axes=axes)) for head in (self.a, self.b)), dim=1)

    mx.random.seed(13)
    net = Heads()
    net.initialize(mx.init.Xavier())
    compiled = compile_model(net, (1, 3, 8, 12), target="rknn")
    assert ("Permute" in {layer.type for layer in compiled.layers}) == get_target("rknn").can_permute(axes)
    prototxt, caffemodel = compiled.save(str(tmp_path / "net"))
    verdicts = verify_compilation(compiled, net, prototxt, caffemodel, [*available_runtimes(), "rknn"])
    assert all(v.ok for v in verdicts), verdicts
    assert all(v.worst_relative <= 1e-4 for v in verdicts if v.runtime != "rknn"), verdicts


# One model per family, the quicker ones, at the segmentation nets' small input of tests/fingerprints.py; the whole
# zoo sample is the committed report (docs/coverage/rknn.md).
FAMILIES = ["resnet18_v1", "resnet18_v1b", "resnet18_v2", "mobilenet0.25", "mobilenetv2_0.25", "mobilenetv3_small",
            "squeezenet1.1", "densenet121", "inceptionv3", "se_resnet18_v1", "resnext50_32x4d", "resnest14",
            "shufflenet_v2", "xception", "nasnet_4_1056", "hrnet_w18_small_v1_c", "darknet53", "alexnet",
            "googlenet", "vgg11", "cifar_resnet20_v1", "cifar_residualattentionnet56", "resnet18_v1b_0.89", "dla34",
            "vgg16_ucf101", "fcn_resnet50_voc", "psp_resnet50_ade", "fastscnn_citys", "hrnet_w18_small_v1_s",
            "simple_pose_resnet18_v1b", "mobile_pose_mobilenetv3_small", "monodepth2_resnet18_kitti_mono_640x192",
            "ssd_300_mobilenet0.25_voc", "yolo3_mobilenet0.25_voc", "center_net_resnet18_v1b_voc"]


@needs_zoo
@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_family_representative_verifies_in_the_simulator(tmp_path, name):
    """Through the zoo sweep's own worker, as `gluon2caffe zoo --target rknn --runtime all` reports it: the rknn
    files verify exactly in OpenCV and at the float16 tolerance in the simulator, with no layer dropped. (pycaffe
    runs the rknn rewrites in the tests above; here it would only add minutes.)"""
    from compiler.driver import sweep
    from tests.fingerprints import SMALL_INPUTS

    result = sweep.run_worker(name, ["rknn"], ["opencv", "rknn"], SMALL_INPUTS.get(name), 0, str(tmp_path))
    assert result["status"] == {"rknn": "verified"}, result["reason"]
    assert result["relative"]["rknn/opencv"] <= 1e-4, result["relative"]
    assert result["relative"]["rknn/rknn"] <= 2e-2, result["relative"]
    assert result["cosine"].get("rknn/rknn", 1.0) >= 0.999, result["cosine"]
