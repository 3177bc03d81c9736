"""Fit-time overhead of skreg's Elastic Net estimators over the scikit-learn estimators they wrap.

For each problem (dense n=20,000 x p=500; sparse wide n=5,000 x p=50,000 at density 0.001) and
each l1_ratio in {0, 0.5, 1}, the skreg estimator and the scikit-learn estimator it delegates to
(same parameters, same raw input: a C-ordered array or a CSR matrix, as a user would pass) are
fitted in back-to-back pairs whose order alternates, and the ratio of the median fit times is
printed. Target: ratio <= 1.05. Also printed: how much faster l1_ratio=0 (solved as a ridge
problem) is than scikit-learn's ElasticNet(l1_ratio=0), which runs coordinate descent on the
same objective.

Times are CPU seconds of this process (the wall-clock ratio is printed beside them): with BLAS
limited to one thread, CPU time is what the fit costs, and it is far less disturbed than wall
time by other jobs on a shared machine.

Run:  python benchmarks/bench_linear.py [--quick] [--min-pairs N]   (about 4 minutes; --quick
runs tiny problems in seconds, as a sanity check only: there fixed costs dominate the ratios)
"""

import argparse
import time
import warnings

import numpy as np
from scipy import sparse
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

from skreg import ElasticNetClassifier, ElasticNetRegressor

L1_RATIOS = (0.0, 0.5, 1.0)


def make_problems(quick):
    """Dense and sparse wide problems, with a sparse true weight vector."""
    rng = np.random.default_rng(0)
    sizes = {
        "dense": (2_000, 50) if quick else (20_000, 500),
        "sparse": (500, 2_000, 0.01) if quick else (5_000, 50_000, 0.001),
    }
    n, p = sizes["dense"]
    X_dense = rng.standard_normal((n, p))
    n, p, density = sizes["sparse"]
    # Uniform random positions (scipy.sparse.random would permute all n * p cells first).
    n_nonzero = round(density * n * p)
    X_sparse = sparse.csr_array(
        (rng.standard_normal(n_nonzero),
         (rng.integers(n, size=n_nonzero, dtype=np.int32),
          rng.integers(p, size=n_nonzero, dtype=np.int32))),
        shape=(n, p),
    )
    X_sparse.sum_duplicates()
    problems = {}
    for name, X in (("dense", X_dense), ("sparse", X_sparse)):
        true_coef = np.zeros(X.shape[1])
        support = rng.choice(X.shape[1], size=max(5, X.shape[1] // 20), replace=False)
        true_coef[support] = rng.standard_normal(support.size) * 3
        signal = X @ true_coef
        y = signal + rng.standard_normal(X.shape[0]) * signal.std()
        labels = (signal + rng.standard_normal(X.shape[0]) * signal.std() > 0).astype(int)
        problems[name] = (X, y, labels)
    return problems


# Penalty strengths at which every solver converges within its max_iter on these problems.
REGRESSOR_ALPHA = {"dense": 0.05, "sparse": 0.01}
CLASSIFIER_ALPHA = {"dense": 0.001, "sparse": 0.001}


def scikit_learn_regressor(alpha, l1_ratio, n_samples):
    """What ElasticNetRegressor delegates to, with the same (default) settings."""
    settings = dict(alpha=alpha, max_iter=1000, tol=1e-4)
    if l1_ratio == 0:
        return Ridge(**{**settings, "alpha": n_samples * alpha})
    if l1_ratio == 1:
        return Lasso(**settings)
    return ElasticNet(l1_ratio=l1_ratio, **settings)


def scikit_learn_classifier(alpha, l1_ratio, n_samples):
    """What ElasticNetClassifier delegates to, with the same (default) settings."""
    return LogisticRegression(
        C=1 / (n_samples * alpha),
        l1_ratio=l1_ratio,
        solver="lbfgs" if l1_ratio == 0 else "saga",
        max_iter=1000,
        tol=1e-4,
        random_state=0,
    )


def fit_seconds(estimator, X, y):
    """CPU seconds and wall seconds of one fit."""
    cpu, wall = time.process_time(), time.perf_counter()
    estimator.fit(X, y)
    return time.process_time() - cpu, time.perf_counter() - wall


def build_cases(problems, quick):
    """(label, X, y, skreg estimator, scikit-learn estimator) for every comparison."""
    # Tiny problems need stronger penalties for SAGA to finish quickly.
    strength = 10.0 if quick else 1.0
    cases = []
    for name, (X, y, labels) in problems.items():
        n_samples = X.shape[0]
        alpha = strength * REGRESSOR_ALPHA[name]
        for l1_ratio in L1_RATIOS:
            cases.append((
                f"{name:6s} regressor  l1_ratio={l1_ratio}", X, y,
                ElasticNetRegressor(alpha=alpha, l1_ratio=l1_ratio),
                scikit_learn_regressor(alpha, l1_ratio, n_samples),
            ))
        # The ridge solve against coordinate descent on the same l1_ratio=0 objective.
        cases.append((
            f"{name:6s} l1_ratio=0 vs ElasticNet(l1_ratio=0)", X, y,
            ElasticNetRegressor(alpha=alpha, l1_ratio=0.0),
            ElasticNet(alpha=alpha, l1_ratio=0.0),
        ))
        alpha = strength * CLASSIFIER_ALPHA[name]
        for l1_ratio in L1_RATIOS:
            cases.append((
                f"{name:6s} classifier l1_ratio={l1_ratio}", X, labels,
                ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio),
                scikit_learn_classifier(alpha, l1_ratio, n_samples),
            ))
    return cases


def time_case(ours, theirs, X, y, min_pairs, seconds_per_case):
    """CPU and wall seconds of both estimators, fitted in back-to-back pairs.

    The first pair sets how many pairs fit in ``seconds_per_case`` (at least ``min_pairs``,
    at most 25); the order within a pair alternates so that drift in the machine's load hits
    both estimators alike.
    """
    warning_count = 0
    samples = {0: [], 1: []}
    n_pairs = min_pairs
    pair = 0
    while pair < n_pairs:
        order = ((0, ours), (1, theirs)) if pair % 2 == 0 else ((1, theirs), (0, ours))
        for slot, estimator in order:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                samples[slot].append(fit_seconds(estimator, X, y))
            warning_count += len(caught)
        if pair == 0:
            pair_seconds = samples[0][0][1] + samples[1][0][1]
            n_pairs = int(np.clip(seconds_per_case / max(pair_seconds, 1e-3), min_pairs, 25))
        pair += 1
    cpu = {slot: np.array([c for c, _ in samples[slot]]) for slot in samples}
    wall = {slot: np.array([w for _, w in samples[slot]]) for slot in samples}
    return cpu, wall, n_pairs, warning_count


def run(quick, min_pairs):
    cases = build_cases(make_problems(quick), quick)
    seconds_per_case = 2.0 if quick else 10.0
    header = (f"{'case':46s} {'skreg':>8s} {'sklearn':>8s} {'ratio':>6s} {'min ratio':>9s}  "
              f"{'per pair [min, max]':>19s} {'wall ratio':>10s} {'pairs':>5s}")
    print("CPU seconds per fit (medians); ratio = median / median, min ratio = min / min\n"
          + header, flush=True)
    for label, X, y, ours, theirs in cases:
        cpu, wall, n_pairs, warning_count = time_case(
            ours, theirs, X, y, min_pairs, seconds_per_case
        )
        ratio = np.median(cpu[0]) / np.median(cpu[1])
        min_ratio = cpu[0].min() / cpu[1].min()
        wall_ratio = np.median(wall[0]) / np.median(wall[1])
        per_pair = cpu[0] / cpu[1]
        note = f"  ({warning_count} warnings)" if warning_count else ""
        if "vs ElasticNet" in label:
            summary = f"speed-up x{1 / ratio:.2f} (wall x{1 / wall_ratio:.2f})"
            print(f"{label:46s} {np.median(cpu[0]):8.4f} {np.median(cpu[1]):8.4f} "
                  f"{summary}{note}", flush=True)
            continue
        flag = "" if ratio <= 1.05 else "  > 1.05"
        print(f"{label:46s} {np.median(cpu[0]):8.4f} {np.median(cpu[1]):8.4f} {ratio:6.3f} "
              f"{min_ratio:9.3f}  [{per_pair.min():7.3f}, {per_pair.max():7.3f}] "
              f"{wall_ratio:10.3f} {n_pairs:5d}{flag}{note}", flush=True)

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny problems, a sanity run")
    parser.add_argument("--min-pairs", type=int, default=None,
                        help="fewest timed pairs per case; default 5, or 2 with --quick")
    args = parser.parse_args()
    min_pairs = args.min_pairs or (2 if args.quick else 5)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        run(args.quick, min_pairs)
    print(f"\ntotal {time.perf_counter() - start:.0f} s; ratio = skreg / scikit-learn median "
          "CPU time (target <= 1.05), wall ratio likewise in wall-clock time")


if __name__ == "__main__":
    main()
