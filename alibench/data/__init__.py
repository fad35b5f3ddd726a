"""Datasets: where images come from (torchvision, npz files, the JPEG copy of
CIFAR10, the shipped sample), how they are checked, and how they are batched."""

from .dataset import ImageData
from .sources import SOURCES, default_data_dir, load_dataset

__all__ = ["ImageData", "SOURCES", "default_data_dir", "load_dataset"]
