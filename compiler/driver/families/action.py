"""Action recognition on frames (TSN-style 2-D networks): a batch of `num_segments` frames per clip, whose scores
the network averages; converted whole. The 3-D video networks are refused (5-D convolution has no Caffe layer)."""
from __future__ import annotations

from compiler.driver.families import Family, Group


class ActionRecognition(Family):
    name = "action"
    task = "action"
    groups = (Group("action_recognition", r"^(vgg16|inceptionv1|inceptionv3|resnet\d+_v1b)_(ucf101|hmdb51|kinetics400|"
                                          r"sthsthv2|custom)$"),)

    def default_input_hw(self, name: str) -> tuple[int, int]:
        return (299, 299) if name.startswith("inceptionv3") else (224, 224)


FAMILY = ActionRecognition()
