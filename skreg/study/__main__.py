"""``python -m skreg.study DATA.csv --target COLUMN``: see :mod:`skreg.study._cli`."""

import os
import sys

from skreg.study._cli import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("python -m skreg.study: interrupted", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # Straight out with 130, without the interpreter's finalization: the study's own
        # clean-up (report folder, workers' fits) ran while the interrupt unwound, and after
        # a Ctrl-C that first surfaced inside a C extension's call into Python, CPython ended
        # about 1 run in 20 (under load) by killing itself with SIGINT during finalization,
        # or aborting there, instead of exiting with this status.
        os._exit(130)
