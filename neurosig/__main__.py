"""``python -m neurosig``: the command line."""

from .cli import main

main()
