"""The experiments layer: one module per experiment (plus the shared tracks),
each registering itself; importing this package registers them all."""

from . import conditional, dcgan_svm, kplus1, svhn_svm, toy_mixture  # noqa: F401
