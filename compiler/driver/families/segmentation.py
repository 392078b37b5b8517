"""Semantic segmentation (FCN, PSP, DeepLab, ICNet, Fast-SCNN, DANet, HRNet): the builders fix their output size (and
PSP its pooling grid) at construction — GluonCV's SegBaseModel resizes to height × width, default crop 480 — so a
build for a chosen input passes its size. Converted whole."""
from __future__ import annotations

from compiler.driver.families import Family, Group


class Segmentation(Family):
    name = "segmentation"
    task = "segmentation"
    groups = (Group("fcn", r"^fcn_.*(?<!_int8)$"), Group("psp", r"^psp_.*(?<!_int8)$"),
              Group("deeplab", r"^deeplab.*(?<!_int8)$"), Group("icnet", r"^icnet_"), Group("fastscnn", r"^fastscnn"),
              Group("danet", r"^danet_"), Group("hrnet_seg", r"^hrnet_.*_s$"))
    input_hw = (480, 480)

    def builder_arguments(self, name: str, input_shape) -> dict:
        return {"height": int(input_shape[2]), "width": int(input_shape[3])}


FAMILY = Segmentation()
