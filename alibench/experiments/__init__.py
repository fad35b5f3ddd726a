"""Experiment modules; importing this package registers each of them."""

from . import cifar10_ssl, conditional, dcgan_svm, gan_fm, supervised, svhn_svm  # noqa: F401
