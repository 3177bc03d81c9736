"""Speed and generalization of RegularizedNetClassifier, measured side by side in one run.

1. Training overhead on 50,000 x 100 float64 data, 5 classes, hidden (256, 256), dropout 0.2,
   batch 256, Adam (lr 1e-3): time per epoch of RegularizedNetClassifier against a minimal
   hand-written PyTorch loop (target ratio <= 1.10), a plain skorch NeuralNetClassifier and
   scikit-learn's MLPClassifier (same layers, no dropout: it has none). An "anatomy" table
   times variants of the hand loop to show where a PyTorch step spends its time on the CPU
   and why MLPClassifier beats a naive loop there. Methods run round-robin, repeated, and the
   median per method is compared. With one thread the times are CPU seconds of this process,
   little disturbed by other jobs; with the default thread count they are wall seconds.
2. Generalization on the bundled digits (stratified 75/25 split, StandardScaler in a Pipeline):
   test accuracy of the unregularized net, each regularizer alone, and a combination tuned by
   3-fold GridSearchCV on the training part only (target >= 0.98), beside MLPClassifier; then
   the same with 30% of the training labels flipped to another class (the combination tuned
   again, by CV on those noisy labels).
3. GridSearchCV over 12 configurations on digits, n_jobs=2 against n_jobs=1 (target speed-up
   >= 1.6x), with the worker processes already started ("warm") and, for reference, cold.
4. Busy machine: the same fits on a quiet machine and next to two CPU-burning processes (each
   a Python ``while True`` loop, started for the measurement and killed after), from digits
   (hidden (100,), 30 epochs) to 50,000 x 100 with hidden (256, 256):
   RegularizedNetClassifier with its default thread policy (and at one thread, since busy /
   quiet also carries the speed-up of two threads where the quiet run uses them),
   MLPClassifier (same layers, epochs and batch, adam, no early stopping, its default BLAS
   threads) and a careful
   hand-written PyTorch loop at torch's default thread count and at one thread. Targets:
   busy / quiet <= 2.5 and below MLPClassifier's busy time; quiet digits <= 1.2x
   MLPClassifier; the large fit <= 1.10x the hand loop at its best thread count. A first
   table measures one training step at 1 and 2 threads for growing layers: the crossover
   behind the policy's ``MIN_FLOPS_PER_THREAD`` (see skreg/utils/_threads.py).

Run:  python benchmarks/bench_neural.py [--quick] [--sections 1 2 3 4]
(full: about 15 minutes on 2 quiet cores; --quick: about 4, as a sanity check only)
"""

import argparse
import os
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from statistics import median

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from skreg import RegularizedNetClassifier
from skreg.neural._modules import Dropout as SkregDropout
from skreg.neural._threads import flops_per_sample
from skreg.utils._threads import MIN_FLOPS_PER_THREAD, choose_n_threads, other_runnable_tasks

N_CLASSES, N_FEATURES, HIDDEN, BATCH, LR, DROPOUT = 5, 100, (256, 256), 256, 1e-3, 0.2
HAND_LOOP = "hand-written loop (X[idx], nn.Dropout, Adam)"


# ---- 1. training overhead ---------------------------------------------------------------


def make_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, N_FEATURES))
    teacher = rng.standard_normal((N_FEATURES, N_CLASSES))
    y = (X @ teacher + rng.standard_normal((n_samples, N_CLASSES))).argmax(axis=1)
    return X, y


def make_module(dropout_layer=nn.Dropout, p=DROPOUT):
    layers, width_in = [], N_FEATURES
    for width in HIDDEN:
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        if p > 0:
            layers.append(dropout_layer(p))
        width_in = width
    return nn.Sequential(*layers, nn.Linear(width_in, N_CLASSES))


def hand_loop(X, y, epochs, *, dataloader=False, dtype=torch.float32, select="getitem",
              fused=False, dropout_layer=nn.Dropout, p=DROPOUT):
    """A minimal PyTorch training loop; the keyword arguments switch single costs on or off."""
    torch.manual_seed(0)
    Xt = torch.as_tensor(X, dtype=dtype)  # one conversion, as a careful user does
    yt = torch.as_tensor(y)
    module = make_module(dropout_layer, p).to(dtype)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, fused=fused or None)
    criterion = nn.CrossEntropyLoss()
    module.train()
    if dataloader:
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(Xt, yt), batch_size=BATCH, shuffle=True
        )
    for _ in range(epochs):
        running_loss = 0.0
        if dataloader:
            batches = loader
        else:
            order = torch.randperm(len(Xt))
            batches = (
                (Xt[rows], yt[rows]) if select == "getitem"
                else (Xt.index_select(0, rows), yt.index_select(0, rows))
                for rows in (order[i : i + BATCH] for i in range(0, len(Xt), BATCH))
            )
        for X_batch, y_batch in batches:
            optimizer.zero_grad()
            loss = criterion(module(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    return running_loss


def skreg_fit(X, y, epochs):
    RegularizedNetClassifier(
        HIDDEN, dropout=DROPOUT, batch_size=BATCH, learning_rate_init=LR, max_iter=epochs,
        random_state=0,
    ).fit(X, y)


def skorch_fit(X, y, epochs):
    NeuralNetClassifier(
        make_module(), criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=LR,
        batch_size=BATCH, max_epochs=epochs, train_split=None, iterator_train__shuffle=True,
        verbose=0,
    ).fit(X.astype(np.float32), y.astype(np.int64))


def mlp_fit(X, y, epochs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(
            HIDDEN, batch_size=BATCH, learning_rate_init=LR, max_iter=epochs, tol=0.0,
            n_iter_no_change=epochs + 1, random_state=0,
        ).fit(X, y)


def time_round_robin(methods, X, y, epochs, repeats, clock):
    """Median seconds per epoch of each method, run in turns so that load hits all alike."""
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, run in methods.items():
            start = clock()
            run(X, y, epochs)
            times[name].append((clock() - start) / epochs)
    return {name: median(values) for name, values in times.items()}


def print_times(title, times, reference):
    print(f"\n{title}")
    for name, seconds in times.items():
        print(f"  {name:<44s} {seconds:7.3f} s/epoch   ratio to {reference}: "
              f"{seconds / times[reference]:5.2f}")


def section_overhead(quick, one_thread_only=False):
    n_samples, epochs, repeats = (10_000, 1, 2) if quick else (50_000, 2, 3)
    X, y = make_data(n_samples)
    print(f"== 1. Training overhead: {n_samples} x {N_FEATURES}, {N_CLASSES} classes, hidden "
          f"{HIDDEN}, dropout {DROPOUT}, batch {BATCH}, Adam; median of {repeats} runs")
    skreg_fit(X[:512], y[:512], 1)  # first-use costs (torch imports its compiler on the
    hand_loop(X[:512], y[:512], 1)  # first optimizer) are paid here, not by one method
    methods = {
        "RegularizedNetClassifier": skreg_fit,
        HAND_LOOP: hand_loop,
        "skorch NeuralNetClassifier (DataLoader)": skorch_fit,
        "MLPClassifier (float64, no dropout)": mlp_fit,
    }
    default_threads = torch.get_num_threads()
    with threadpool_limits(1):
        torch.set_num_threads(1)
        try:
            one = time_round_robin(methods, X, y, epochs, repeats, time.process_time)
            print_times("one thread (CPU seconds):", one, HAND_LOOP)
            anatomy = {
                "DataLoader(TensorDataset), nn.Dropout": lambda X, y, e: hand_loop(
                    X, y, e, dataloader=True),
                "float64 tensors, X[idx], nn.Dropout": lambda X, y, e: hand_loop(
                    X, y, e, dtype=torch.float64),
                "float32, X[idx], nn.Dropout  (minimal loop)": hand_loop,
                "  + index_select": lambda X, y, e: hand_loop(X, y, e, select="index_select"),
                "  + fused Adam": lambda X, y, e: hand_loop(X, y, e, select="index_select",
                                                           fused=True),
                "  + skreg Dropout (16-bit masks)": lambda X, y, e: hand_loop(
                    X, y, e, select="index_select", fused=True, dropout_layer=SkregDropout),
                "  no dropout at all (what MLPClassifier does)": lambda X, y, e: hand_loop(
                    X, y, e, select="index_select", fused=True, p=0.0),
                "MLPClassifier (float64, no dropout)": mlp_fit,
            }
            anatomy_times = time_round_robin(anatomy, X, y, epochs, repeats, time.process_time)
            print_times("anatomy of a PyTorch epoch, one thread (CPU seconds):", anatomy_times,
                        "float32, X[idx], nn.Dropout  (minimal loop)")
            fastest_loop = anatomy_times["  + skreg Dropout (16-bit masks)"]
            print("  RegularizedNetClassifier / the loop with the same optimizations: "
                  f"{one['RegularizedNetClassifier'] / fastest_loop:.2f} (skorch's bookkeeping)")
        finally:
            torch.set_num_threads(default_threads)
    if one_thread_only:
        return
    default = time_round_robin(methods, X, y, epochs, repeats, time.perf_counter)
    print_times(f"default threads (torch {default_threads}, BLAS default; wall seconds):",
                default, HAND_LOOP)


# ---- 2. generalization on digits --------------------------------------------------------


def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def flip_labels(y, fraction, seed=0):
    rng = np.random.default_rng(seed)
    flipped = y.copy()
    rows = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    flipped[rows] = (y[rows] + rng.integers(1, 10, size=len(rows))) % 10  # another class
    return flipped


def net(**params):
    base = dict(hidden_layer_sizes=(256,), learning_rate_init=1e-3, max_iter=200, batch_size=64)
    return RegularizedNetClassifier(**{**base, **params})


SINGLE_REGULARIZERS = {
    "unregularized": {},
    "dropout=0.3": {"dropout": 0.3},
    "weight_decay=0.05 (adamw)": {"optimizer": "adamw", "weight_decay": 0.05},
    "l1=1e-4": {"l1": 1e-4},
    "label_smoothing=0.1": {"label_smoothing": 0.1},
    "batch_norm": {"batch_norm": True},
    "early_stopping": {"early_stopping": True},
}

_SHARED_GRID = {
    "regularizednetclassifier__dropout": [0.2, 0.4],
    "regularizednetclassifier__weight_decay": [0.0, 0.05],
    "regularizednetclassifier__label_smoothing": [0.0, 0.1],
}
TUNING_GRID = [  # 24 combinations: batch norm or early stopping on top of the others
    {**_SHARED_GRID, "regularizednetclassifier__batch_norm": [False, True]},
    {**_SHARED_GRID, "regularizednetclassifier__early_stopping": [True]},
]


def tune(X_train, y_train, max_iter, quick):
    """The best combination by 3-fold CV on the training part only (its labels as given)."""
    grid = [{key: values[-1:] for key, values in TUNING_GRID[0].items()}] if quick else TUNING_GRID
    search = GridSearchCV(
        make_pipeline(StandardScaler(), net(max_iter=max_iter, random_state=0,
                                            optimizer="adamw")),
        grid, cv=3, n_jobs=2,
    ).fit(X_train, y_train)
    tuned = {key.split("__", 1)[1]: value for key, value in search.best_params_.items()}
    return tuned, search.best_score_


def accuracy(model, X_train, y_train, X_test, y_test, seeds):
    scores = []
    for seed in seeds:
        model.set_params(**{f"{model.steps[-1][0]}__random_state": seed})
        scores.append(model.fit(X_train, y_train).score(X_test, y_test))
    return np.mean(scores), np.std(scores)


def section_generalization(quick):
    X_train, X_test, y_train, y_test = digits_split()
    seeds = [0] if quick else [0, 1, 2]
    max_iter = 40 if quick else 200
    print(f"\n== 2. Digits generalization: {len(y_train)} train / {len(y_test)} test rows, "
          f"hidden (256,), batch 64, {max_iter} epochs, Adam; test accuracy, mean (std) over "
          f"seeds {seeds}. Torch runs one thread per process here: these are accuracies.")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for title, labels in [("clean labels", y_train),
                              ("30% of training labels flipped", flip_labels(y_train, 0.3))]:
            tuned, cv_score = tune(X_train, labels, max_iter, quick)
            configs = {name: {"max_iter": max_iter, **params}
                       for name, params in SINGLE_REGULARIZERS.items()}
            configs["tuned combination"] = {"max_iter": max_iter, "optimizer": "adamw", **tuned}
            print(f"\n  {title}; tuned by 3-fold CV on these training labels: {tuned} "
                  f"(CV accuracy {cv_score:.4f})")
            for name, params in configs.items():
                mean, std = accuracy(make_pipeline(StandardScaler(), net(**params)),
                                     X_train, labels, X_test, y_test, seeds)
                print(f"    {name:<28s} {mean:.4f} ({std:.4f})")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                mlp = make_pipeline(StandardScaler(), MLPClassifier(max_iter=max_iter))
                mean, std = accuracy(mlp, X_train, labels, X_test, y_test, seeds)
            print(f"    {'MLPClassifier (defaults)':<28s} {mean:.4f} ({std:.4f})")
    finally:
        torch.set_num_threads(threads)


# ---- 3. parallel grid search ------------------------------------------------------------


def _matmul_work(n_products):
    torch.set_num_threads(1)
    a = torch.randn(256, 256)
    for _ in range(n_products):
        a @ a


def parallel_ceiling(n_products):
    """Speed-up of 2 processes over 1 on plain float32 matrix products: what the cores allow."""
    from joblib import Parallel, delayed

    Parallel(n_jobs=2)(delayed(_matmul_work)(1) for _ in range(2))  # start the workers
    start = time.perf_counter()
    for _ in range(4):
        _matmul_work(n_products)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    Parallel(n_jobs=2)(delayed(_matmul_work)(n_products) for _ in range(4))
    return serial / (time.perf_counter() - start)


def section_grid_search(quick):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    max_iter = 10 if quick else 40
    grid = {"dropout": [0.0, 0.2, 0.4], "weight_decay": [0.0, 1e-3],
            "label_smoothing": [0.0, 0.1]}
    estimator = RegularizedNetClassifier((64,), max_iter=max_iter, random_state=0)

    def search(n_jobs):
        start = time.perf_counter()
        GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X, y)
        return time.perf_counter() - start

    print(f"\n== 3. GridSearchCV, 12 configurations x 3 folds on digits, hidden (64,), "
          f"{max_iter} epochs (wall seconds)")
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("  psutil is missing: joblib's workers then run a full gc.collect() (~0.2 s with "
              "torch loaded) after a task once a second; skreg depends on psutil for this")
    threads = torch.get_num_threads()
    cold = search(2)
    # Alternated and repeated (best of each): a burst of load from elsewhere hits both sides.
    ones, twos = [], []
    for _ in range(1 if quick else 3):
        ones.append(search(1))
        twos.append(search(2))  # the n_jobs=2 workers are warm now
    one, two = min(ones), min(twos)
    with threadpool_limits(1):
        torch.set_num_threads(1)
        one_single_thread = search(1)
        torch.set_num_threads(threads)
    print(f"  n_jobs=1 (torch {threads} threads): {one:6.1f} s  (runs: "
          + ", ".join(f"{t:.1f}" for t in ones) + ")")
    print(f"  n_jobs=1 (torch 1 thread):    {one_single_thread:6.1f} s")
    print(f"  n_jobs=2, warm workers:       {two:6.1f} s  (runs: "
          + ", ".join(f"{t:.1f}" for t in twos) + f")  speed-up {one / two:4.2f}x "
          f"(target >= 1.6x); over 1-thread n_jobs=1: {one_single_thread / two:4.2f}x")
    print(f"  n_jobs=2, cold (first call):  {cold:6.1f} s   speed-up {one / cold:4.2f}x "
          "(includes starting the workers and importing torch there)")
    print(f"  ceiling: 2 processes of one-thread 256x256 matrix products run "
          f"{parallel_ceiling(300 if quick else 3000):4.2f}x faster than one on this machine")


# ---- 4. busy machine -----------------------------------------------------------------


def load():
    return f"load {os.getloadavg()[0]:.1f}, {other_runnable_tasks()} other runnable tasks"


@contextmanager
def busy_processes(n_processes):
    """``n_processes`` Python processes spinning in ``while True`` for the duration of the block."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(n_processes)]
    try:
        time.sleep(1.0)  # they are running, and the scheduler has seen them
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


def plain_loop(X, y, hidden, batch, epochs, threads=None):
    """A careful hand-written loop: float32 once, index_select batches, fused Adam."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
        layers, width_in = [], X.shape[1]
        for width in hidden:
            layers += [nn.Linear(width_in, width), nn.ReLU()]
            width_in = width
        module = nn.Sequential(*layers, nn.Linear(width_in, int(y.max()) + 1))
        optimizer = torch.optim.Adam(module.parameters(), lr=LR, fused=True)
        for _ in range(epochs):
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), batch):
                rows = order[start : start + batch]
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(
                    module(Xt.index_select(0, rows)), yt.index_select(0, rows))
                loss.backward()
                optimizer.step()
    finally:
        torch.set_num_threads(before)


def step_seconds(batch, widths, threads, repeats):
    """Fastest of ``repeats`` timings of 20 training steps of an MLP on ``widths``."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        layers = []
        for width_in, width in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(width_in, width), nn.ReLU()]
        module = nn.Sequential(*layers[:-1])
        optimizer = torch.optim.Adam(module.parameters(), fused=True)
        X, y = torch.randn(batch, widths[0]), torch.randint(0, widths[-1], (batch,))
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(20):
                optimizer.zero_grad()
                nn.functional.cross_entropy(module(X), y).backward()
                optimizer.step()
            best = min(best, (time.perf_counter() - start) / 20)
        return best
    finally:
        torch.set_num_threads(before)


def thread_crossover(quick):
    shapes = [(200, (64, 100, 10)), (256, (100, 256, 256, 5)), (256, (256, 512, 512, 10)),
              (512, (512, 1024, 1024, 10))]
    print("\n  one training step (Adam), 1 vs 2 torch threads, fastest of 3 (wall ms); the "
          f"policy adds a thread per {MIN_FLOPS_PER_THREAD:.2e} multiply-adds per batch")
    for batch, widths in shapes[: 3 if quick else 4]:
        flops = batch * sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        one, two = step_seconds(batch, widths, 1, 3), step_seconds(batch, widths, 2, 3)
        print(f"    batch {batch:4d}, layers {str(widths):<24s} {flops:9.2e} multiply-adds: "
              f"1 thread {one * 1e3:7.2f}  2 threads {two * 1e3:7.2f}  speed-up "
              f"{one / two:4.2f}   ({load()})")


def busy_problems(quick):
    X, y = load_digits(return_X_y=True)
    problems = [("digits 1797 x 64, (100,)", StandardScaler().fit_transform(X), y, (100,),
                 200, 30)]
    for n_samples in [10_000] if quick else [10_000, 50_000]:
        X, y = make_data(n_samples)
        problems.append((f"{n_samples} x 100, (256, 256)", X, y, (256, 256), 256, 2))
    return problems


def busy_methods(hidden, batch, epochs, one_thread_only=False):
    def skreg(X, y, n_threads=None):
        RegularizedNetClassifier(hidden, batch_size=batch, learning_rate_init=LR,
                                 max_iter=epochs, random_state=0, n_threads=n_threads).fit(X, y)

    def mlp(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier(hidden, solver="adam", batch_size=batch, learning_rate_init=LR,
                          max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                          early_stopping=False, random_state=0).fit(X, y)

    def mlp_one_thread(X, y):
        with threadpool_limits(1):
            mlp(X, y)

    methods = {
        "RegularizedNetClassifier (policy)": skreg,
        "RegularizedNetClassifier (n_threads=1)": lambda X, y: skreg(X, y, n_threads=1),
        "MLPClassifier (default BLAS threads)": mlp,
        "MLPClassifier (1 BLAS thread)": mlp_one_thread,
        f"hand loop, torch {torch.get_num_threads()} threads": (
            lambda X, y: plain_loop(X, y, hidden, batch, epochs)),
        "hand loop, 1 thread": lambda X, y: plain_loop(X, y, hidden, batch, epochs, 1),
    }
    if one_thread_only:  # threads that spin on a loaded machine can take minutes here
        del methods[f"hand loop, torch {torch.get_num_threads()} threads"]
    return methods


def wall_medians(methods, X, y, repeats):
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, run in methods.items():
            start = time.perf_counter()
            run(X, y)
            times[name].append(time.perf_counter() - start)
    return {name: median(values) for name, values in times.items()}


def section_busy(quick, one_thread_only=False):
    repeats = 2 if quick else 3
    print(f"\n== 4. Busy machine: fits quiet and next to 2 busy processes, {os.cpu_count()} "
          f"CPUs, torch default {torch.get_num_threads()} threads; median of {repeats} "
          f"(wall seconds); {load()}")
    if os.cpu_count() >= 2:
        thread_crossover(quick)
    skreg_name = "RegularizedNetClassifier (policy)"
    mlp_name = "MLPClassifier (default BLAS threads)"
    for title, X, y, hidden, batch, epochs in busy_problems(quick):
        flops = batch * flops_per_sample(RegularizedNetClassifier(hidden), X.shape[1],
                                         int(y.max()) + 1)
        methods = busy_methods(hidden, batch, epochs, one_thread_only)
        methods[skreg_name](X[:300], y[:300])  # first-use costs
        print(f"\n  {title}, batch {batch}, {epochs} epochs, {flops:.2e} multiply-adds per "
              f"batch: policy's count quiet "
              f"{choose_n_threads(flops, limit=torch.get_num_threads())} ({load()})")
        quiet = wall_medians(methods, X, y, repeats)
        with busy_processes(2):
            busy_count = choose_n_threads(flops, limit=torch.get_num_threads())
            busy_load = load()
            busy = wall_medians(methods, X, y, repeats)
        print(f"  policy's count busy {busy_count} ({busy_load})")
        print(f"    {'method':<40s} {'quiet':>8s} {'busy':>8s} {'busy/quiet':>10s} "
              f"{'quiet/MLP':>9s} {'busy/MLP':>9s}")
        for name in methods:
            print(f"    {name:<40s} {quiet[name]:8.2f} {busy[name]:8.2f} "
                  f"{busy[name] / quiet[name]:10.2f} {quiet[name] / quiet[mlp_name]:9.2f} "
                  f"{busy[name] / busy[mlp_name]:9.2f}")
        best_loop = min(value for name, value in quiet.items() if name.startswith("hand"))
        # Where the quiet run uses two threads, busy / quiet also carries their speed-up: the
        # busy policy run against the quiet one-thread run shows what sharing a core costs.
        one = "RegularizedNetClassifier (n_threads=1)"
        print(f"    busy (policy) / quiet at one thread: {busy[skreg_name] / quiet[one]:.2f}")
        print(f"    targets: busy/quiet {busy[skreg_name] / quiet[skreg_name]:.2f} (<= 2.5), "
              f"busy / MLP busy {busy[skreg_name] / busy[mlp_name]:.2f} (< 1), quiet / MLP "
              f"{quiet[skreg_name] / quiet[mlp_name]:.2f} (<= 1.2 on digits), quiet / best "
              f"hand loop {quiet[skreg_name] / best_loop:.2f} (<= 1.10 on the large fit)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, sanity check only")
    parser.add_argument("--sections", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--one-thread-only", action="store_true",
                        help="slow on a loaded machine, so skipped: section 1's default-thread "
                        "table, section 4's hand loop at torch's default thread count")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    for number in args.sections:
        if number == 1:
            section_overhead(args.quick, args.one_thread_only)
        elif number == 4:
            section_busy(args.quick, args.one_thread_only)
        else:
            sections = {2: section_generalization, 3: section_grid_search}
            sections[number](args.quick)


if __name__ == "__main__":
    main()
