"""Fit times of skreg's Elastic Net estimators, each section printing ratios measured side by side.

Sections (``--sections``; all by default):

- ``fit``: ElasticNetRegressor, and ElasticNetClassifier at l1_ratio=0, against the
  scikit-learn estimators they delegate to (same parameters, same raw input), on a dense
  n=20,000 x p=500 and a sparse n=5,000 x p=50,000 problem. Fitted in back-to-back pairs whose
  order alternates; ratio of the median fit times. Target: <= 1.05. Also printed: how much
  faster l1_ratio=0 (solved as a ridge problem) is than ElasticNet(l1_ratio=0).
- ``solver``: L1 and Elastic-Net ElasticNetClassifier (skreg's proximal Newton solver, default
  tol) against LogisticRegression(solver="saga") at equal or better objective, SAGA's tolerance
  tightened until it gets there, on standardized breast cancer, make_classification(2000, 200)
  and a sparse text-like problem (n=20,000, p=50,000, density 0.001). Target: <= 0.2.
- ``skglm``: when skglm is installed (bench extra only), skreg and skglm's
  SparseLogisticRegression each in a fresh Python process: the first fit (skglm's includes its
  numba compilation) and the steady state. Targets: first fit faster than skglm's, steady state
  within 2x. Skipped when skglm is absent.
- ``sparse``: when skglm is installed, L1 fits on a planted sparse logistic model (n=20,000,
  p=50,000, density 0.001, CSC) at alpha_max/10, /30 and /100, each library at the loosest
  tolerance that ends within a relative 1e-6 of the optimum; steady state (skglm compiled
  beforehand), alternating pairs. Target: skreg <= 1.0x skglm's time.

Times are CPU seconds of this process (wall seconds in fresh processes for skglm), with BLAS
limited to one thread: CPU time is what the fit costs, and it is far less disturbed than wall
time by other jobs on a shared machine.

Cross-validation section (``cv``): ElasticNetClassifierCV (20 alphas x 2 l1_ratios x 5 folds,
warm-started paths) against LogisticRegressionCV(solver="saga") on the same grid
(Cs = 1 / (n_train * alpha), n_train the mean training-fold size), the same l1_ratios, folds
and scoring (neg_log_loss), target ratio <= 0.2; ElasticNetRegressorCV against ElasticNetCV on
the same grid and folds, target <= 1.0. Each pair shares one grid, ElasticNet*CV's automatic
grid for l1_ratio=0.5. The alphas each pair chooses are printed beside the times.

Run:  python benchmarks/bench_linear.py [--quick] [--min-pairs N] [--sections ...]
(sections fit solver skglm sparse cv; about 4 minutes for the fit section and as much for the cv
section; --quick runs small problems, as a sanity check only: fixed costs dominate there)
"""

import argparse
import time
import warnings

import numpy as np
from scipy import sparse
from sklearn.datasets import load_breast_cancer, make_classification, make_regression
from sklearn.linear_model import (
    ElasticNet,
    ElasticNetCV,
    Lasso,
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
)
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skreg import (
    ElasticNetClassifier,
    ElasticNetClassifierCV,
    ElasticNetRegressor,
    ElasticNetRegressorCV,
)
from skreg.linear._path import (
    LOSS_CURVATURE,
    alpha_grid,
    largest_feature_variance,
    logistic_gradient_at_zero,
    squared_error_gradient_at_zero,
)

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
    """What ElasticNetClassifier delegates to at l1_ratio=0, with the same (default) settings."""
    # ElasticNetClassifier's default tol (1e-5) is passed on to L-BFGS.
    return LogisticRegression(C=1 / (n_samples * alpha), solver="lbfgs", max_iter=1000, tol=1e-5)


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
        # l1_ratio > 0 runs skreg's own solver: see solver_section.
        for l1_ratio in (0.0,):
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


def overhead_section(quick, min_pairs):
    """skreg's estimators against the scikit-learn estimators they delegate to."""
    print("== Overhead over the delegated scikit-learn estimators")
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


# -- L1 / Elastic-Net logistic regression: skreg's proximal Newton solver against SAGA ---------

SAGA_TOLS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def logistic_objective(coef, intercept, X, y, alpha, l1_ratio):
    """The documented objective (mean log-loss + penalty) of a binary fit, labels in {0, 1}."""
    scores = np.asarray(X @ coef.ravel()).ravel() + intercept[0]
    log_loss = np.logaddexp(0.0, scores) - y * scores
    return (log_loss.mean() + alpha * l1_ratio * np.abs(coef).sum()
            + 0.5 * alpha * (1 - l1_ratio) * np.sum(coef**2))


def planted_sparse_problem(n, p, density):
    """Text-like CSR data, labels of a planted sparse logistic model, and alpha_max (L1)."""
    rng = np.random.default_rng(0)
    n_nonzero = round(density * n * p)
    X = sparse.csr_array(
        (rng.standard_normal(n_nonzero),
         (rng.integers(n, size=n_nonzero, dtype=np.int32),
          rng.integers(p, size=n_nonzero, dtype=np.int32))),
        shape=(n, p),
    )
    X.sum_duplicates()
    true_coef = np.zeros(p)
    support = rng.choice(p, size=p // 100, replace=False)
    true_coef[support] = rng.standard_normal(support.size) * 3
    signal = X @ true_coef
    y = (signal + rng.standard_normal(n) * signal.std() > 0).astype(int)
    # alpha_max of the L1 problem (no weight non-zero above it) sets the scale.
    return X, y, np.abs(X.T @ (y - y.mean())).max() / n


def solver_problems(quick):
    """(name, X, y, alphas): standardized breast cancer, make_classification, sparse text-like."""
    X, y = load_breast_cancer(return_X_y=True)
    problems = [("breast_cancer", StandardScaler().fit_transform(X), y, (0.01, 0.001))]
    n, p = (500, 50) if quick else (2_000, 200)
    X, y = make_classification(n, p, n_informative=p // 10, random_state=0)
    problems.append((f"make_classification({n}, {p})", StandardScaler().fit_transform(X), y,
                     (0.01, 0.001)))
    n, p, density = (2_000, 5_000, 0.005) if quick else (20_000, 50_000, 0.001)
    X, y, alpha_max = planted_sparse_problem(n, p, density)
    problems.append((f"sparse {n}x{p} density {density}", X, y,
                     (round(alpha_max / 4, 6), round(alpha_max / 16, 6))))
    return problems


def _cpu_seconds(estimator, X, y):
    start = time.process_time()
    estimator.fit(X, y)
    return time.process_time() - start


def _saga_to_objective(X, y, alpha, l1_ratio, target, budget):
    """Loosest SAGA tolerance whose fit reaches ``target``: (tol, seconds, objective) or None."""
    last = None
    for tol in SAGA_TOLS:
        saga = LogisticRegression(C=1 / (len(y) * alpha), l1_ratio=l1_ratio, solver="saga",
                                  tol=tol, max_iter=1_000_000, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds = _cpu_seconds(saga, X, y)
        value = logistic_objective(saga.coef_, saga.intercept_, X, y, alpha, l1_ratio)
        last = (tol, seconds, value)
        if value <= target:
            return last, True
        if seconds > budget:
            break
    return last, False


def solver_section(quick):
    """ElasticNetClassifier (defaults but alpha, l1_ratio) against LogisticRegression(saga).

    SAGA runs at tightening tolerances until its objective is at most skreg's (equal or
    better objective); the ratio is skreg's CPU time over that SAGA fit's. The optimum is
    skreg's solver at tol=1e-10.
    """
    print("\n== L1 / Elastic-Net logistic regression: skreg (default tol) vs "
          "LogisticRegression(solver='saga') at equal or better objective")
    print(f"{'problem':34s} {'alpha':>8s} {'l1':>4s} {'nnz':>5s} {'skreg s':>8s} "
          f"{'skreg gap':>9s} {'saga tol':>8s} {'saga s':>8s} {'saga gap':>9s} {'ratio':>7s}")
    budget = 5.0 if quick else 60.0
    for name, X, y, alphas in solver_problems(quick):
        for alpha in alphas:
            for l1_ratio in (1.0, 0.5):
                optimum = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10).fit(X, y)
                best = logistic_objective(optimum.coef_, optimum.intercept_, X, y, alpha,
                                          l1_ratio)
                model = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio)
                times = []
                while len(times) < 3 or (sum(times) < 1.0 and len(times) < 25):
                    times.append(_cpu_seconds(model, X, y))
                ours = np.median(times)
                value = logistic_objective(model.coef_, model.intercept_, X, y, alpha, l1_ratio)
                (tol, seconds, saga_value), reached = _saga_to_objective(
                    X, y, alpha, l1_ratio, value, budget
                )
                ratio = f"{ours / seconds:7.3f}" if reached else f"<{ours / seconds:6.3f}"
                # Unreached, the ratio is an upper bound: flag it only when that bound misses.
                flag = "" if ours / seconds <= 0.2 else "  (target <= 0.2)"
                if not reached:
                    flag += "  saga never reached skreg's objective"
                print(f"{name:34s} {alpha:8.2g} {l1_ratio:4.1f} "
                      f"{int(np.count_nonzero(model.coef_)):5d} {ours:8.4f} "
                      f"{(value - best) / best:9.1e} {tol:8.0e} {seconds:8.3f} "
                      f"{(saga_value - best) / best:9.1e} {ratio}{flag}", flush=True)
    print("gap = (objective - optimum) / optimum; ratio = skreg / saga CPU seconds")


# -- skglm (optional): first fit in a fresh process, and steady state --------------------------

_FRESH_PROCESS_SCRIPT = """
import json, sys, time
import numpy as np
from scipy import sparse
start = time.perf_counter()
library, path, alpha, l1_ratio = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
data = np.load(path, allow_pickle=False)
if "indptr" in data:
    X = sparse.csr_matrix((data["data"], data["indices"], data["indptr"]), shape=data["shape"])
else:
    X = data["X"]
y = data["y"]
if library == "skreg":
    from skreg import ElasticNetClassifier
    make = lambda: ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio)
else:
    from skglm import SparseLogisticRegression
    make = lambda: SparseLogisticRegression(alpha=alpha, l1_ratio=l1_ratio)
imported = time.perf_counter() - start
seconds = []
for _ in range(4):
    model = make()
    begin = time.perf_counter()
    model.fit(X, y)
    seconds.append(time.perf_counter() - begin)
np.save(path + "." + library + ".npy", np.append(model.coef_.ravel(), model.intercept_))
print(json.dumps({"import": imported, "first": seconds[0], "steady": min(seconds[1:])}))
"""


def skglm_section(quick):
    """skreg vs skglm, each in a fresh Python process: first fit (JIT included) and later fits."""
    import importlib.util
    import json
    import os
    import subprocess
    import sys
    import tempfile

    print("\n== skreg vs skglm (SparseLogisticRegression): fresh process, wall seconds")
    if importlib.util.find_spec("skglm") is None:
        print("skglm is not installed: section skipped (pip install skglm; bench extra)")
        return
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    print(f"{'problem':34s} {'alpha':>8s} {'l1':>4s} {'library':>7s} {'first':>7s} "
          f"{'steady':>7s} {'gap':>9s}   first / skglm first, steady / skglm steady")
    # Every skglm process compiles anew: in quick mode one problem is enough to show it.
    problems = solver_problems(quick)[:1] if quick else solver_problems(quick)
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, X, y, alphas) in enumerate(problems):
            path = os.path.join(folder, f"problem{index}.npz")
            if sparse.issparse(X):
                X = sparse.csr_matrix(X)
                np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr,
                         shape=np.array(X.shape), y=y)
            else:
                np.savez(path, X=X, y=y)
            alpha, l1_ratio = alphas[-1], 1.0
            optimum = ElasticNetClassifier(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10).fit(X, y)
            best = logistic_objective(optimum.coef_, optimum.intercept_, X, y, alpha, l1_ratio)
            results = {}
            for library in ("skreg", "skglm"):
                completed = subprocess.run(
                    [sys.executable, "-c", _FRESH_PROCESS_SCRIPT, library, path, str(alpha),
                     str(l1_ratio)],
                    capture_output=True, text=True, env=environment, check=True,
                )
                results[library] = json.loads(completed.stdout.strip().splitlines()[-1])
                solution = np.load(path + f".{library}.npy")
                gap = (logistic_objective(solution[:-1], solution[-1:], X, y, alpha, l1_ratio)
                       - best) / best
                results[library]["gap"] = gap
            for library, result in results.items():
                ratios = ""
                if library == "skreg":
                    ratios = (f"   {result['first'] / results['skglm']['first']:.3f}, "
                              f"{result['steady'] / results['skglm']['steady']:.3f}")
                print(f"{name:34s} {alpha:8.2g} {l1_ratio:4.1f} {library:>7s} "
                      f"{result['first']:7.3f} {result['steady']:7.3f} {result['gap']:9.1e}"
                      f"{ratios}", flush=True)
    print("target: skreg's first fit faster than skglm's; steady state within 2x of skglm's")


# -- skglm (optional): sparse L1 fits in the steady state, at equal accuracy ------------------

SPARSE_GAP = 1e-6
SKREG_TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
SKGLM_TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)


def _loosest_accurate(make, tols, X, y, alpha, best):
    """Loosest tolerance whose fit ends within SPARSE_GAP of ``best``: (tol, gap)."""
    for tol in tols:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = make(tol).fit(X, y)
        gap = (logistic_objective(model.coef_, np.ravel(model.intercept_), X, y, alpha, 1.0)
               - best) / best
        if gap <= SPARSE_GAP:
            break
    return tol, gap


def sparse_section(quick, min_pairs):
    """ElasticNetClassifier vs skglm's SparseLogisticRegression, L1, planted sparse CSC data.

    Each library at the loosest tolerance of its ladder that ends within a relative 1e-6 of
    the optimum (the better of two tight solves); skglm compiled by a fit beforehand; CPU
    seconds of alternating pairs. Target: skreg <= 1.0x skglm at every alpha.
    """
    import importlib.util

    print("\n== Sparse L1 logistic regression, steady state: skreg vs skglm at objective gap "
          f"<= {SPARSE_GAP:g}")
    if importlib.util.find_spec("skglm") is None:
        print("skglm is not installed: section skipped (pip install skglm; bench extra)")
        return
    from skglm import SparseLogisticRegression

    n, p, density = (4_000, 10_000, 0.002) if quick else (20_000, 50_000, 0.001)
    X, y, alpha_max = planted_sparse_problem(n, p, density)
    X = sparse.csc_matrix(X)
    print(f"planted {n}x{p} density {density} (CSC); CPU seconds, medians of alternating pairs\n"
          f"{'alpha':>14s} {'nnz':>6s} {'skreg tol':>9s} {'gap':>8s} {'skreg s':>8s} "
          f"{'skglm tol':>9s} {'gap':>8s} {'skglm s':>8s} {'ratio':>6s}")
    SparseLogisticRegression(alpha=alpha_max / 2).fit(X, y)  # numba compilation
    for divisor in (10, 30, 100):
        alpha = alpha_max / divisor
        makers = {
            "skreg": lambda tol, alpha=alpha: ElasticNetClassifier(
                alpha=alpha, l1_ratio=1.0, tol=tol, max_iter=10_000),
            "skglm": lambda tol, alpha=alpha: SparseLogisticRegression(
                alpha=alpha, tol=tol, max_iter=200, max_epochs=100_000),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            best = min(logistic_objective(m.coef_, np.ravel(m.intercept_), X, y, alpha, 1.0)
                       for m in (makers["skreg"](1e-10).fit(X, y),
                                 makers["skglm"](1e-12).fit(X, y)))
        chosen_tols = {name: _loosest_accurate(make, SKREG_TOLS if name == "skreg"
                                               else SKGLM_TOLS, X, y, alpha, best)
                       for name, make in makers.items()}
        ours, theirs = (makers[name](chosen_tols[name][0]) for name in ("skreg", "skglm"))
        cpu, _, _, _ = time_case(ours, theirs, X, y, min_pairs, 5.0 if quick else 20.0)
        ratio = np.median(cpu[0]) / np.median(cpu[1])
        flag = "" if ratio <= 1.0 else "  > 1.0"
        print(f"alpha_max/{divisor:<4d} {int(np.count_nonzero(ours.coef_)):6d} "
              f"{chosen_tols['skreg'][0]:9.0e} {chosen_tols['skreg'][1]:8.1e} "
              f"{np.median(cpu[0]):8.3f} {chosen_tols['skglm'][0]:9.0e} "
              f"{chosen_tols['skglm'][1]:8.1e} {np.median(cpu[1]):8.3f} {ratio:6.2f}{flag}",
              flush=True)


CV_L1_RATIOS = [0.5, 1.0]


def cv_problems(quick):
    """(name, X, y, kind): standardized classification and regression problems."""
    X_cancer, y_cancer = load_breast_cancer(return_X_y=True)
    X_cancer = StandardScaler().fit_transform(X_cancer)
    if quick:
        return [("breast_cancer[:200]", X_cancer[:200], y_cancer[:200], "classifier"),
                ("regression 300x20", *make_regression(300, 20, n_informative=5, noise=10,
                                                       random_state=0), "regressor")]
    X_synth, y_synth = make_classification(2000, 200, n_informative=20, random_state=0)
    X_reg, y_reg = make_regression(2000, 200, n_informative=20, noise=30, random_state=0)
    return [("breast_cancer", X_cancer, y_cancer, "classifier"),
            ("make_classification 2000x200", StandardScaler().fit_transform(X_synth), y_synth,
             "classifier"),
            ("make_regression 2000x200", X_reg, y_reg, "regressor")]


def cv_pair(X, y, kind, quick):
    """(skreg CV estimator, scikit-learn CV estimator) on one grid, l1_ratios and folds."""
    n_alphas, n_folds = (6, 3) if quick else (20, 5)
    # One grid for both l1_ratios (ElasticNetCV and LogisticRegressionCV share theirs): the
    # one ElasticNet*CV builds for l1_ratio=0.5, which covers the Lasso's too.
    variance = largest_feature_variance(X, None, True)
    if kind == "regressor":
        folds = list(KFold(n_folds, shuffle=True, random_state=0).split(X, y))
        gradient = squared_error_gradient_at_zero(X, y, None, True)
        alphas = alpha_grid(gradient, len(y), min(CV_L1_RATIOS), n_alphas, 1e-3,
                            l2_scale=LOSS_CURVATURE["squared_error"] * variance)
        settings = dict(l1_ratio=CV_L1_RATIOS, alphas=alphas, cv=folds)
        return ElasticNetRegressorCV(**settings), ElasticNetCV(**settings)
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(X, y))
    gradient = logistic_gradient_at_zero(X, y, 2, None, True)
    alphas = alpha_grid(gradient, len(y), min(CV_L1_RATIOS), n_alphas, 1e-3,
                        l2_scale=LOSS_CURVATURE["log_loss"] * variance)
    n_train = len(y) * (n_folds - 1) / n_folds
    ours = ElasticNetClassifierCV(l1_ratio=CV_L1_RATIOS, alphas=alphas, cv=folds)
    theirs = LogisticRegressionCV(
        Cs=1.0 / (n_train * alphas), l1_ratios=CV_L1_RATIOS, solver="saga", cv=folds,
        scoring="neg_log_loss", max_iter=1000, tol=1e-4, random_state=0,
        use_legacy_attributes=False,
    )
    return ours, theirs


def chosen(estimator, n_train):
    """(alpha, l1_ratio) chosen, LogisticRegressionCV's C converted to alpha."""
    if hasattr(estimator, "C_"):
        return 1.0 / (n_train * float(np.ravel(estimator.C_)[0])), float(
            np.ravel(estimator.l1_ratio_)[0])
    return float(estimator.alpha_), float(np.ravel(estimator.l1_ratio_)[0])


def run_cv(quick, min_pairs):
    """Side-by-side CPU time of the CV estimators; targets 0.2 (classifier), 1.0 (regressor)."""
    targets = {"classifier": 0.2, "regressor": 1.0}
    print(f"\nCross-validation: {'6' if quick else '20'} alphas x {len(CV_L1_RATIOS)} l1_ratios "
          f"x {'3' if quick else '5'} folds; CPU seconds per fit (medians)\n"
          f"{'problem':30s} {'kind':10s} {'skreg':>8s} {'sklearn':>8s} {'ratio':>6s} "
          f"{'target':>6s} {'wall ratio':>10s} {'pairs':>5s}  chosen alpha, l1_ratio "
          "(skreg | sklearn)", flush=True)
    for name, X, y, kind in cv_problems(quick):
        ours, theirs = cv_pair(X, y, kind, quick)
        cpu, wall, n_pairs, warning_count = time_case(
            ours, theirs, X, y, min_pairs, 5.0 if quick else 60.0
        )
        ratio = np.median(cpu[0]) / np.median(cpu[1])
        wall_ratio = np.median(wall[0]) / np.median(wall[1])
        n_train = len(y) * (1 - 1 / len(ours.cv))
        ours_choice, theirs_choice = chosen(ours, n_train), chosen(theirs, n_train)
        flag = "" if ratio <= targets[kind] else f"  > {targets[kind]}"
        note = f"  ({warning_count} warnings)" if warning_count else ""
        print(f"{name:30s} {kind:10s} {np.median(cpu[0]):8.3f} {np.median(cpu[1]):8.3f} "
              f"{ratio:6.3f} {targets[kind]:6.1f} {wall_ratio:10.3f} {n_pairs:5d}  "
              f"{ours_choice[0]:.4g}, {ours_choice[1]:g} | "
              f"{theirs_choice[0]:.4g}, {theirs_choice[1]:g}{flag}{note}", flush=True)


SECTIONS = ("fit", "solver", "skglm", "sparse", "cv")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny problems, a sanity run")
    parser.add_argument("--min-pairs", type=int, default=None,
                        help="fewest timed pairs per case; default 5 (2 for cv), or 2 (1) "
                             "with --quick")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="which comparisons to run (default: all)")
    args = parser.parse_args()
    min_pairs = args.min_pairs or (2 if args.quick else 5)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        if "fit" in args.sections:
            overhead_section(args.quick, min_pairs)
        if "solver" in args.sections:
            solver_section(args.quick)
        if "skglm" in args.sections:
            skglm_section(args.quick)
        if "sparse" in args.sections:
            sparse_section(args.quick, args.min_pairs or (1 if args.quick else 3))
        if "cv" in args.sections:
            run_cv(args.quick, args.min_pairs or (1 if args.quick else 2))
    print(f"\ntotal {time.perf_counter() - start:.0f} s; ratio = skreg / scikit-learn median "
          "CPU time (targets: fit <= 1.05, solver <= 0.2, classifier CV <= 0.2, regressor CV "
          "<= 1.0), wall ratio likewise in wall-clock time")


if __name__ == "__main__":
    main()
