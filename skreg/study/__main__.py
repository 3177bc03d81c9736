"""``python -m skreg.study DATA.csv --target COLUMN``: see :mod:`skreg.study._cli`."""

import sys

from skreg.study._cli import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("python -m skreg.study: interrupted", file=sys.stderr)
        sys.exit(130)
