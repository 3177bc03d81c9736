"""What the study's progress reporting costs: compare_regularizers with and without it.

Every fit of a study reports back to the calling process (skreg/study/_progress.py: a
scikit-learn callback in the worker records the fit's warnings and sends one message over a
local socket, then waits for the acknowledgement). This script runs the same linear study
(diabetes, the default quick sweeps: 17 settings × 5 folds = 85 fits of a few milliseconds,
the worst case: the cheaper the fit, the larger the share of the report) with the reporting
on (verbose=1, the bar drawn to a null file) and off (GridSearchCV.fit called directly),
alternating, and prints the ratios of the medians and of the minima for n_jobs=1 and
n_jobs=2 (loky).
Nothing is asserted. Target: the reporting costs at most a few percent of a study.

Run:  python benchmarks/bench_study_progress.py [--quick]
(about 1-2 minutes on 2 cores; --quick: fewer repeats)
"""

import argparse
import contextlib
import io
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetRegressor, compare_regularizers
from skreg.study import _progress


@contextlib.contextmanager
def reporting_off():
    """GridSearchCV.fit without the reporter: what the study did before the bar."""
    fit = _progress.StudyProgress.fit

    def plain(self, search, X, y=None):
        return search.fit(X, y)

    _progress.StudyProgress.fit = plain
    try:
        yield
    finally:
        _progress.StudyProgress.fit = fit


def run(X, y, n_jobs, verbose):
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    start = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        compare_regularizers(model, X, y, cv=5, quick=True, n_jobs=n_jobs, verbose=verbose)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 15
    X, y = load_diabetes(return_X_y=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for n_jobs in (1, 2):
        run(X, y, n_jobs, 0)  # warm-up: worker processes, imports
        on, off = [], []
        for _ in range(repeats):  # alternated, so that a change of load hits both
            on.append(run(X, y, n_jobs, 1))
            with reporting_off():
                off.append(run(X, y, n_jobs, 0))
        # The minimum is the run least disturbed by other processes: on a busy machine it
        # shows the reporting's own cost, the median what a user sees there.
        print(f"n_jobs={n_jobs}: with reporting {np.median(on):.3f} s, without "
              f"{np.median(off):.3f} s (medians of {repeats}): ratio "
              f"{np.median(on) / np.median(off):.3f}; ratio of the minima "
              f"{min(on) / min(off):.3f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
