"""The experiments layer: one module per experiment (plus the shared tracks),
each registering itself; importing this package registers them all."""

from . import (conditional, dcgan_svm, kplus1, svhn_ssl, svhn_svm, svm_inference,  # noqa: F401
               toy_mixture)
