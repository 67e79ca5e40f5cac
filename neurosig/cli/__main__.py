"""``python -m neurosig.cli``: the command line."""

from . import main

main()
