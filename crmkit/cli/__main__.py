"""``python -m crmkit.cli``: the same as the ``crmkit`` console script."""

from . import main

main()
