"""Experiment modules; importing this package registers each of them."""

from . import conditional, dcgan_svm, svhn_svm  # noqa: F401
