"""The ``neurosig`` command line, one module per command group.

``_main`` holds the group (``neurosig.cli:main``, the console script) and what the groups
share; ``datasets``, ``run`` (run, stage, workflow), ``signatures``, ``analysis`` (score,
annotate, communicate, test) and ``simulate`` add their commands to it when imported here.
Imports sit at the top of every module: the commands need the analysis packages, which
``import neurosig`` loads anyway, so importing them lazily would not shorten start-up.
"""

from . import analysis, datasets, run, signatures, simulate  # noqa: F401 - registers the commands
from ._main import main

__all__ = ["main"]
