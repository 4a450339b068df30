"""Datasets for the example trainings, shipped with minisinga so they run offline.

``load_mnist`` gives real MNIST handwritten digits: a subset shipped in the package,
or the full set from a folder of the original IDX files (see ``mnist.py``).
"""
from .mnist import describe_source, load_mnist, read_idx_images, read_idx_labels

__all__ = ["describe_source", "load_mnist", "read_idx_images", "read_idx_labels"]
