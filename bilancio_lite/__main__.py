"""`python -m bilancio_lite …` is the same as the `bilancio-lite` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
