"""Audit: run the bad-input matrix over every public estimator and count the outcomes.

The cells are those of ``tests/test_robustness.py`` (``skreg/utils/_robustness.py``, loaded
from this checkout by path), run against whichever skreg Python imports, so an older version
can be audited with the same cells::

    python benchmarks/audit_robustness.py                      # this checkout
    PYTHONPATH=/path/to/old/checkout python benchmarks/audit_robustness.py --cells-from .

Prints one line per estimator with the counts of clear errors, clear warnings, correct
results, silently wrong results and unhelpful failures, then every cell that is not one of
the first three. ``--quick`` skips the Ctrl-C cells (subprocesses).
"""

import argparse
import importlib.util
import os
import sys
import time
import warnings
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))


def load_cells(root):
    path = os.path.join(root, "skreg", "utils", "_robustness.py")
    spec = importlib.util.spec_from_file_location("_robustness_cells", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells-from", default=os.path.dirname(HERE),
                        help="checkout whose skreg/utils/_robustness.py defines the cells")
    parser.add_argument("--quick", action="store_true", help="skip the Ctrl-C subprocess cells")
    parser.add_argument("--estimator", action="append", help="audit only these (repeatable)")
    parser.add_argument("--case", action="append", help="run only these cases (repeatable)")
    args = parser.parse_args()

    import skreg
    from skreg.utils._test_common import CHECK_PARAMS
    from skreg.utils.discovery import all_estimators

    cells = load_cells(os.path.abspath(args.cells_from))
    estimators = [(name, cls(**CHECK_PARAMS.get(name, {}))) for name, cls in all_estimators()
                  if not args.estimator or name in args.estimator]
    cases = [case for case in cells.CASES if not (args.quick and case in cells.SLOW_CASES)
             and (not args.case or case in args.case)]
    print(f"skreg from {os.path.dirname(skreg.__file__)}; {len(cases)} cases")
    totals, findings = Counter(), []
    start = time.perf_counter()
    header = f"{'estimator':<26}" + "".join(f"{kind:>18}" for kind in cells.OUTCOMES)
    print(header)
    by_name = dict(estimators)
    for name, _ in estimators:
        counts = Counter()
        for _, case in cells.cells([(name, by_name[name])], cases):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kind, detail = cells.run_cell(by_name[name], case)
            counts[kind] += 1
            if kind not in cells.GOOD_OUTCOMES:
                findings.append(f"  {name} / {case}: {kind}: {detail}")
        totals.update(counts)
        print(f"{name:<26}" + "".join(f"{counts[kind]:>18}" for kind in cells.OUTCOMES))
    print(f"{'total':<26}" + "".join(f"{totals[kind]:>18}" for kind in cells.OUTCOMES))
    print(f"{sum(totals.values())} cells in {time.perf_counter() - start:.0f} s")
    if findings:
        print("cells that are silently wrong or unhelpful:")
        print("\n".join(findings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
