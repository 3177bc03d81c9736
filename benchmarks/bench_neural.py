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
   >= 1.7x), with the worker processes already started ("warm") and, for reference, cold.

Run:  python benchmarks/bench_neural.py [--quick] [--sections 1 2 3]
(full: about 12 minutes on 2 quiet cores; --quick: about 3, as a sanity check only)
"""

import argparse
import os
import time
import warnings
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
    threads = torch.get_num_threads()
    cold = search(2)
    one, two = search(1), search(2)  # the n_jobs=2 workers are warm now
    with threadpool_limits(1):
        torch.set_num_threads(1)
        one_single_thread = search(1)
        torch.set_num_threads(threads)
    print(f"  n_jobs=1 (torch {threads} threads): {one:6.1f} s")
    print(f"  n_jobs=1 (torch 1 thread):    {one_single_thread:6.1f} s")
    print(f"  n_jobs=2, warm workers:       {two:6.1f} s   speed-up {one / two:4.2f}x "
          f"(target >= 1.7x); over 1-thread n_jobs=1: {one_single_thread / two:4.2f}x")
    print(f"  n_jobs=2, cold (first call):  {cold:6.1f} s   speed-up {one / cold:4.2f}x "
          "(includes starting the workers and importing torch there)")
    print(f"  ceiling: 2 processes of one-thread 256x256 matrix products run "
          f"{parallel_ceiling(300 if quick else 3000):4.2f}x faster than one on this machine")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, sanity check only")
    parser.add_argument("--sections", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--one-thread-only", action="store_true",
                        help="section 1: skip the default-thread table (slow on a loaded machine)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    for number in args.sections:
        if number == 1:
            section_overhead(args.quick, args.one_thread_only)
        else:
            {2: section_generalization, 3: section_grid_search}[number](args.quick)


if __name__ == "__main__":
    main()
