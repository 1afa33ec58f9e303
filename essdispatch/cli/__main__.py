"""``python -m essdispatch.cli``: the ``essdispatch`` command."""

import sys

from essdispatch.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
