"""Image classifiers: every GluonCV ImageNet and CIFAR network, converted whole and verified output by output."""
from __future__ import annotations

from compiler.driver.families import Family, Group

# Input sizes other than 224×224, by the start of the zoo name.
_SIZES = (("cifar_", 32), ("nasnet_6_4032", 331), ("xception", 299), ("inceptionv3", 299))


class Classifiers(Family):
    name = "classifiers"
    task = "classification"
    groups = (
        Group("cifar_residualattentionnet", r"^cifar_residualattentionnet\d+$"),
        Group("cifar_resnet", r"^cifar_resnet\d+_v[12]$"),
        Group("cifar_resnext", r"^cifar_resnext\d+_\d+x\d+d$"),
        Group("cifar_wideresnet", r"^cifar_wideresnet\d+_\d+$"),
        Group("hrnet", r"^hrnet_.*_c$"),
        Group("mobilenetv3", r"^mobilenetv3_(large|small)$"),
        Group("mobilenetv2", r"^mobilenetv2_[\d.]+$"),
        Group("mobilenet", r"^mobilenet[\d.]+$"),
        Group("se_resnext", r"^(se_resnext\d+e?_\d+x\d+d|senet_154e?)$"),
        Group("se_resnet", r"^se_resnet\d+_v[12]$"),
        Group("resnest", r"^resnest\d+$"),
        Group("shufflenet", r"^shufflenet_v[12]$"),
        Group("resnext", r"^resnext\d+e?_\d+x\d+d$"),
        Group("resnet_pruned", r"^resnet\d+_v1[bd]_0\.\d+$"),
        Group("resnet_gn", r"^resnet\d+_v1b_gn$"),
        Group("resnet_v1b-s", r"^resnet\d+_v1[bcdes]$"),
        Group("resnet_v1", r"^resnet\d+_v1$"),
        Group("resnet_v2", r"^resnet\d+_v2$"),
        Group("residualattention", r"^residualattentionnet\d+$"),
        Group("nasnet", r"^nasnet_\d+_\d+$"),
        Group("xception", r"^xception(71)?$"),
        Group("inception", r"^inceptionv3$"),
        Group("googlenet", r"^googlenet$"),
        Group("densenet", r"^densenet\d+$"),
        Group("darknet", r"^darknet\d+$"),
        Group("dla", r"^dla\d+$"),
        Group("squeezenet", r"^squeezenet[\d.]+$"),
        Group("vgg", r"^vgg\d+(_bn)?$"),
        Group("alexnet", r"^alexnet$"),
    )

    def default_input_hw(self, name: str) -> tuple[int, int]:
        size = next((s for prefix, s in _SIZES if name.startswith(prefix)), 224)
        return (size, size)


FAMILY = Classifiers()
