"""Two-stage detectors (Faster/Mask R-CNN): refused before they are built — their region proposals (box_nms per
image) and ROIAlign over proposed, data-dependent boxes have no Caffe layer, and their builds or traces fail in ways
that would hide the reason."""
from __future__ import annotations

from compiler.driver.families import Family, Group


class TwoStageDetectors(Family):
    name = "two_stage"
    task = "detection"
    groups = (Group("faster_rcnn", r"(faster|doublehead)_rcnn"),
              Group("mask_rcnn", r"mask_rcnn", task="instance_segmentation"))
    input_hw = (600, 800)   # their 600-pixel short side

    def refusal(self, name: str) -> str | None:
        return ("a two-stage detector: its region proposals (box_nms per image) and ROIAlign over the proposed, "
                "data-dependent boxes have no Caffe layer")


FAMILY = TwoStageDetectors()
