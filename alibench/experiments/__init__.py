"""Experiment modules; importing this package registers each of them."""

from . import cifar10_ssl, gan_fm, supervised, svhn_svm  # noqa: F401
