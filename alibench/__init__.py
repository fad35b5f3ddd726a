"""alibench: a semi-supervised benchmark suite around ALI (Dumoulin et al., ICLR 2017)."""

from .core import __version__

__all__ = ["__version__"]
