"""alibench: a semi-supervised benchmark suite around ALI (Dumoulin et al., ICLR 2017).

The public Python API (``alibench.api``; docs/api.md): ``load_run`` a finished
run directory or an export, then ``encode``, ``reconstruct``, ``sample``,
``interpolate``; ``list_experiments``."""

from .api import Run, list_experiments, load_run
from .core import __version__
from .core.errors import UserError

__all__ = ["__version__", "Run", "UserError", "list_experiments", "load_run"]
