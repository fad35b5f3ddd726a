"""Experiment modules; importing this package registers each of them."""

from . import svhn_svm  # noqa: F401
