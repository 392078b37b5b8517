"""Model families (compiler/driver/families): every zoo name has exactly one family and coverage group, each family
gives its models the input GluonCV trains them at, and the knowledge of a family lives in its module alone."""
import pathlib

import pytest

from compiler.driver import families
from compiler.driver.families import default_input_shape, families_claiming, group_of
from tests.needs import needs_zoo

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name, group, task", [
    ("se_resnext50_32x4d", "se_resnext", "classification"), ("senet_154", "se_resnext", "classification"),
    ("resnet18_v1b_0.89", "resnet_pruned", "classification"), ("resnet50_v1s", "resnet_v1b-s", "classification"),
    ("hrnet_w18_small_v1_c", "hrnet", "classification"), ("hrnet_w18_small_v1_s", "hrnet_seg", "segmentation"),
    ("vgg16_ucf101", "action_recognition", "action"), ("i3d_resnet50_v1_kinetics400", "video_3d", "video"),
    ("cifar_resnet20_v1", "cifar_resnet", "classification"), ("mobilenetv3_small", "mobilenetv3", "classification"),
    ("mobilenet0.25", "mobilenet", "classification"), ("ssd_512_resnet50_v1_voc", "ssd", "detection"),
    ("ssd_300_resnet34_v1b_custom", "ssd", "detection"), ("resnet18_v1b_custom", "action_recognition", "action"),
    ("ssd_512_mobilenet1.0_voc_int8", "int8", "int8"), ("mask_rcnn_resnet50_v1b_coco", "mask_rcnn",
                                                          "instance_segmentation"),
    ("vgg16", "vgg", "classification"), ("vgg16_bn", "vgg", "classification"),
])
def test_every_name_has_its_group(name, group, task):
    assert group_of(name) == (group, task)


@needs_zoo
def test_every_zoo_name_has_exactly_one_family():
    from gluoncv.model_zoo import get_model_list

    claims = {name: families_claiming(name) for name in get_model_list()}
    assert {name: found for name, found in claims.items() if len(found) != 1} == {}


@pytest.mark.parametrize("name, shape", [
    ("resnet50_v1", (1, 3, 224, 224)), ("cifar_resnet20_v1", (1, 3, 32, 32)), ("inceptionv3", (1, 3, 299, 299)),
    ("xception71", (1, 3, 299, 299)), ("nasnet_6_4032", (1, 3, 331, 331)), ("nasnet_5_1538", (1, 3, 224, 224)),
    ("inceptionv3_ucf101", (1, 3, 299, 299)), ("i3d_inceptionv3_kinetics400", (1, 3, 299, 299)),
    ("ssd_300_vgg16_atrous_voc", (1, 3, 300, 300)), ("ssd_512_mobilenet1.0_voc", (1, 3, 512, 512)),
    ("yolo3_darknet53_coco", (1, 3, 416, 416)), ("center_net_dla34_voc", (1, 3, 512, 512)),
    ("faster_rcnn_resnet50_v1b_voc", (1, 3, 600, 800)), ("fcn_resnet101_voc_int8", (1, 3, 480, 480)),
    ("simple_pose_resnet18_v1b_int8", (1, 3, 256, 192)), ("alpha_pose_resnet101_v1b_coco", (1, 3, 256, 192)),
    ("monodepth2_resnet18_posenet_kitti_mono_stereo_640x192", (1, 6, 192, 640)),
])
def test_default_inputs(name, shape):
    assert default_input_shape(name) == shape


def test_a_video_batch_carries_its_segments():
    assert default_input_shape("resnet50_v1b_kinetics400", {"num_segments": 3}) == (3, 3, 224, 224)


# What recognising a family looks like: a zoo-name fragment (as a prefix, pattern or substring test), an attribute
# only one family's nets have, or a GluonCV family class.
FAMILY_SIGNS = ("ssd_", "^ssd", "yolo3", "center_net", "_rcnn", "_pose_", "monodepth", "cifar_", "kinetics",
                "class_predictors", "box_predictors", "yolo_outputs", "_minimal_opset", "reset_class", "YOLOV3",
                "CenterNet", "model_zoo.ssd", "model_zoo.yolo", "model_zoo.center_net")


def _signs(path) -> list[str]:
    """Family signs in the code of `path` (docstrings and comments may name a family; an option's name such as
    ssd_confidence is no recognition, nor is the seed API's convert_ssd_model)."""
    import ast

    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            text = " ".join([getattr(node, "module", None) or ""] + [a.name for a in node.names])
        else:
            continue
        words = [w for w in FAMILY_SIGNS if w in text and not any(
            text.startswith(option) or option in text for option in ("ssd_confidence", "ssd_integer_sizes",
                                                                     "convert_ssd_model"))]
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]!r}" for _ in words[:1]]
    return found


def test_family_knowledge_lives_in_the_family_modules():
    """Outside compiler/driver/families no code recognises a family: no zoo-name pattern, no probe of one family's
    attributes, no family class (the passes match IR patterns, never models)."""
    offenders = [sign for path in sorted(ROOT.glob("compiler/**/*.py")) if "families" not in path.parts
                 for sign in _signs(path)]
    assert offenders == []


def test_nothing_outside_the_families_probes_a_model_with_hasattr():
    """hasattr (or getattr with a default) is for the op registry's hooks and OpenCV's version differences, never
    for guessing what a model is."""
    import ast

    offenders = []
    for path in sorted(ROOT.glob("compiler/**/*.py")):
        if "families" in path.parts or path.name in ("opdef.py", "runtimes.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                    node.func.id == "hasattr" or (node.func.id == "getattr" and len(node.args) == 3)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_registry_loads_every_family_module():
    modules = {p.stem for p in (ROOT / "compiler" / "driver" / "families").iterdir()
               if p.suffix == ".py" and p.stem != "__init__" or (p.is_dir() and (p / "__init__.py").exists())}
    assert {type(f).__module__.rsplit(".", 1)[-1] for f in families.FAMILIES} == modules
