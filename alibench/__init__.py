"""alibench: a semi-supervised benchmark suite around ALI (Dumoulin et al., ICLR 2017)."""

__version__ = "0.1.0"
