"""Pose estimation (SimplePose, MobilePose, AlphaPose): heatmaps from a 256×192 person crop, converted whole."""
from __future__ import annotations

from compiler.driver.families import Family, Group


class PoseEstimation(Family):
    name = "pose"
    task = "pose"
    groups = (Group("simple_pose", r"^simple_pose_.*(?<!_int8)$"), Group("mobile_pose", r"^mobile_pose_"),
              Group("alpha_pose", r"^alpha_pose_"))
    input_hw = (256, 192)


FAMILY = PoseEstimation()
