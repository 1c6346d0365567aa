"""Allow `python -m strangler`, same as the `strangler` console script."""

from strangler.cli import main

main()
