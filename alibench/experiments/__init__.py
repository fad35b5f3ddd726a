"""Experiment modules; importing this package registers each of them."""

from . import conditional, svhn_svm  # noqa: F401
