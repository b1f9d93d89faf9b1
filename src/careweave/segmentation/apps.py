from django.apps import AppConfig


class SegmentationConfig(AppConfig):
    name = "careweave.segmentation"
    label = "segmentation"
