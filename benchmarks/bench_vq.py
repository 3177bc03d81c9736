"""VectorQuantizer against scikit-learn's KMeans, measured side by side in one run.

1. fit on the pixels of china.jpg (273,280 x 3), 64 codes: time and inertia of skreg,
   KMeans(n_init=1) and faiss.Kmeans (when importable). Target: inertia within 1% of KMeans
   at no more than half its time.
2. predict on 1,000,000 x 64 float32 rows, 256 codes: time ratio to KMeans.predict (target
   <= 1.0) and to one plain matrix product of the same shape; peak extra memory.
3. partial_fit over 5,000,000 rows in chunks generated on the fly: peak memory per million
   rows (should stay flat).
4. reconstruction error against bytes per row for product and residual quantization on
   load_digits.
5. scale: fit on overlapping blobs (256 centers, cluster_std=3, d = 16), 256 codes, n = 100,000,
   400,000 and 1,600,000, against faiss.Kmeans (default settings: 25 iterations on at most
   256 rows per centroid; same k and seed) when faiss is installed. Both inertias are computed
   on all rows by the same exact nearest-code search. Targets: time <= 1.0x faiss at inertia
   <= 0.97x faiss's. faiss's train (25 short OpenMP loops) slows down 3-5x when another process
   takes a core, skreg's fit less, so the time ratio swings with the machine's load: the
   "1-thread ratio" column (both limited to one thread) is the load-robust comparison of work.
   "pass ratio": one exact nearest-code pass over all rows (``predict``), which a fit that
   sets ``labels_`` makes at least once, over faiss's whole train: the time ratio's floor.
   Then the peak resident memory growth of a fit on 10,000,000 x 16 float32 rows, in a fresh
   subprocess (target: <= 2x the data's size).

Run: ``python benchmarks/bench_vq.py`` (about 4-6 minutes) or ``--quick`` (smaller sizes);
``--sections 1 5`` runs some sections only.
Timings are the best of a few repeats, alternating the contenders, because the machine is
shared; compare ratios, not absolute times.
"""

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_sample_image, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skreg import VectorQuantizer

MIB = 2**20


def best_time(function, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def traced_peak(function):
    """Peak memory traced by tracemalloc during ``function()`` (numpy buffers included)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, result


def bench_fit(seeds):
    print("== 1. fit on china.jpg pixels (273,280 x 3, float32 in [0, 1]), 64 codes")
    pixels = load_sample_image("china.jpg").reshape(-1, 3).astype(np.float32) / 255
    rows = {"skreg": [], "sklearn": []}
    for seed in seeds:
        # Alternate the two so that a burst of load from other processes hits both.
        start = time.perf_counter()
        vq = VectorQuantizer(64, random_state=seed).fit(pixels)
        rows["skreg"].append((time.perf_counter() - start, vq.inertia_, vq.n_iter_))
        start = time.perf_counter()
        km = KMeans(64, n_init=1, random_state=seed).fit(pixels)
        rows["sklearn"].append((time.perf_counter() - start, km.inertia_, km.n_iter_))
        print(
            f"   seed {seed}: skreg {rows['skreg'][-1][0]:6.2f} s  inertia {vq.inertia_:8.3f}"
            f"  ({vq.n_iter_} full passes) | KMeans {rows['sklearn'][-1][0]:6.2f} s  inertia "
            f"{km.inertia_:8.3f}  ({km.n_iter_} iterations)"
        )
    try:
        import faiss
    except ImportError:
        print("   faiss: not installed, skipped")
    else:
        start = time.perf_counter()
        index = faiss.Kmeans(3, 64, niter=25, seed=seeds[0])
        index.train(pixels)
        faiss_time = time.perf_counter() - start
        faiss_inertia = float(index.index.search(pixels, 1)[0].sum())
        print(f"   faiss.Kmeans: {faiss_time:.2f} s  inertia {faiss_inertia:.3f}")
    ours = np.array(rows["skreg"])
    theirs = np.array(rows["sklearn"])
    time_ratio = np.median(ours[:, 0]) / np.median(theirs[:, 0])
    inertia_ratio = ours[:, 1].mean() / theirs[:, 1].mean()
    per_seed = ours[:, 1] / theirs[:, 1]
    ours_time, theirs_time = np.median(ours[:, 0]), np.median(theirs[:, 0])
    print(
        f"   median time: skreg {ours_time:.2f} s, KMeans {theirs_time:.2f} s"
        f" -> time ratio {time_ratio:.2f} (target <= 0.5)"
    )
    print(
        f"   mean inertia ratio skreg / KMeans {inertia_ratio:.4f} (target <= 1.01); per seed "
        + ", ".join(f"{r:.4f}" for r in per_seed)
    )
    # A busy machine slows OpenMP's spinning threads more than ours: compare on one thread too.
    with threadpool_limits(1):
        ours_one, _ = best_time(lambda: VectorQuantizer(64, random_state=seeds[0]).fit(pixels), 1)
        theirs_one, _ = best_time(
            lambda: KMeans(64, n_init=1, random_state=seeds[0]).fit(pixels), 1
        )
    print(
        f"   one thread each (threadpool_limits(1)), seed {seeds[0]}: skreg {ours_one:.2f} s, "
        f"KMeans {theirs_one:.2f} s -> time ratio {ours_one / theirs_one:.2f}"
    )


def bench_predict(n_rows, repeats):
    print(f"== 2. predict on {n_rows:,} x 64 float32 rows, 256 codes")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, 64), dtype=np.float32)
    codebook = X[rng.choice(n_rows, 256, replace=False)].copy()
    vq = VectorQuantizer(256, init=codebook, max_iter=0).fit(X[:10_000])
    km = KMeans(256, init=codebook, n_init=1, max_iter=1).fit(X[:10_000])
    km.cluster_centers_ = codebook  # same codebook for both
    times = {"skreg": np.inf, "sklearn": np.inf, "matmul": np.inf}
    for _ in range(repeats):
        for name, function in (
            ("skreg", lambda: vq.predict(X)),
            ("sklearn", lambda: km.predict(X)),
            ("matmul", lambda: X @ codebook.T),
        ):
            elapsed, result = best_time(function, 1)
            times[name] = min(times[name], elapsed)
            del result
    agreement = np.mean(vq.predict(X[:100_000]) == km.predict(X[:100_000]))
    print(
        f"   skreg.predict {times['skreg']:.3f} s | KMeans.predict {times['sklearn']:.3f} s | "
        f"X @ C.T {times['matmul']:.3f} s   (labels agree on {agreement:.2%} of rows)"
    )
    print(
        f"   ratio to KMeans.predict {times['skreg'] / times['sklearn']:.2f} (target <= 1.0); "
        f"ratio to one matrix product {times['skreg'] / times['matmul']:.2f}"
    )
    with threadpool_limits(1):
        ours_one, _ = best_time(lambda: vq.predict(X), 2)
        theirs_one, _ = best_time(lambda: km.predict(X), 2)
    print(
        f"   one thread each: skreg {ours_one:.3f} s, KMeans {theirs_one:.3f} s -> ratio "
        f"{ours_one / theirs_one:.2f}"
    )
    peak, labels = traced_peak(lambda: vq.predict(X))
    output = labels.nbytes
    print(
        f"   skreg.predict peak traced memory {peak / MIB:.1f} MiB, of which output "
        f"{output / MIB:.1f} MiB: extra {(peak - output) / MIB:.1f} MiB (the n x k float32 "
        f"distance matrix KMeans.transform returns would be {n_rows * 256 * 4 / MIB:.0f} MiB)"
    )


def bench_partial_fit(n_total, chunk_rows):
    print(f"== 3. partial_fit over {n_total:,} rows x 16 features, chunks of {chunk_rows:,} rows")
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(64, 16)).astype(np.float32)
    vq = VectorQuantizer(256, random_state=0)
    per_million = []
    tracemalloc.start()
    start = time.perf_counter()
    seen = 0
    while seen < n_total:
        # Each chunk is generated, used, and dropped: nothing is kept across chunks.
        chunk = centers[rng.integers(64, size=chunk_rows)]
        chunk += rng.standard_normal(chunk.shape, dtype=np.float32)
        vq.partial_fit(chunk)
        del chunk
        seen += chunk_rows
        if seen % 1_000_000 == 0:
            per_million.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.reset_peak()
    tracemalloc.stop()
    elapsed = time.perf_counter() - start
    print(
        "   peak traced memory per million rows (MiB): "
        + ", ".join(f"{m + 1}M: {p / MIB:.1f}" for m, p in enumerate(per_million))
    )
    print(
        f"   {elapsed:.1f} s in all; growth from first to last million "
        f"{(per_million[-1] - per_million[0]) / MIB:+.2f} MiB; perplexity of the codes "
        f"{vq.perplexity_:.1f} of 256"
    )


def bench_compression():
    print("== 4. reconstruction error against bytes per row, load_digits (64 features)")
    X = load_digits().data
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    variance = np.mean(np.sum((X_test - X_train.mean(axis=0)) ** 2, axis=1))
    header = ("scheme", "bytes/row", "codebook bytes", "unused codes", "test error / variance")
    print("   {:<18}{:>10}{:>16}{:>14}{:>23}".format(*header))
    print("   {:<18}{:>10}{:>16}{:>14}{:>23.3f}".format("float64 rows", 64 * 8, 0, "-", 0.0))
    configs = [("VQ, 256 codes", {})]
    configs += [(f"PQ, {m} subspaces", {"n_subspaces": m}) for m in (2, 4, 8, 16)]
    configs += [(f"RQ, {s} stages", {"n_stages": s}) for s in (2, 4, 8)]
    for name, params in configs:
        with warnings.catch_warnings():
            # Small blocks of digits take fewer than 256 distinct values: reported as unused.
            warnings.simplefilter("ignore", ConvergenceWarning)
            vq = VectorQuantizer(256, random_state=0, **params).fit(X_train)
        bytes_per_row = vq.transform(X_test[:1]).nbytes
        error = -vq.score(X_test) / variance
        unused = int(np.sum(vq.code_counts_ == 0))
        row = (name, bytes_per_row, f"{vq.codebook_.nbytes:,}", unused, error)
        print("   {:<18}{:>10}{:>16}{:>14}{:>23.3f}".format(*row))


def scale_blobs(n_rows, seed=0):
    """Overlapping blobs: 256 Gaussian clusters (std 3, centers in [-10, 10]^16), float32."""
    X, _ = make_blobs(n_rows, 16, centers=256, cluster_std=3.0, random_state=seed)
    return X.astype(np.float32)


def exact_inertia(X, codebook):
    """Sum over all rows of the squared distance to the nearest code (exact search)."""
    return VectorQuantizer(codebook.shape[0], init=codebook, max_iter=0).fit(X).inertia_


def bench_scale(sizes, repeats, memory_rows):
    print("== 5. scale: blobs d=16 (256 centers, cluster_std=3), 256 codes, seed 0")
    try:
        import faiss
    except ImportError:
        faiss = None
        print("   faiss: not installed, skreg alone")
    # skreg's fit also assigns every row (labels_, inertia_); faiss's train does not, so the
    # time of its train plus one search of all rows (the codes a user then needs) is shown too.
    # "pass ratio": skreg's one exact pass over all rows (predict, which a fit that sets
    # labels_ must make once) over faiss's whole train: the floor of the time ratio.
    header = ("rows", "skreg s", "faiss s", "time ratio", "+search ratio", "1-thread ratio",
              "pass ratio", "inertia ratio", "full passes")
    line = "   {:>10}{:>9}{:>9}{:>12}{:>15}{:>16}{:>12}{:>15}{:>13}"
    print(line.format(*header))
    for n_rows in sizes:
        X = scale_blobs(n_rows)
        times = {"skreg": np.inf, "faiss": np.inf, "search": np.inf, "pass": np.inf}
        for _ in range(repeats):
            # Alternate the two so that a burst of load from other processes hits both.
            elapsed, vq = best_time(lambda X=X: VectorQuantizer(256, random_state=0).fit(X), 1)
            times["skreg"] = min(times["skreg"], elapsed)
            elapsed, _ = best_time(lambda X=X, vq=vq: vq.predict(X), 1)
            times["pass"] = min(times["pass"], elapsed)
            if faiss is not None:
                kmeans = faiss.Kmeans(16, 256, seed=0)
                elapsed, _ = best_time(lambda X=X, kmeans=kmeans: kmeans.train(X), 1)
                times["faiss"] = min(times["faiss"], elapsed)
                elapsed, _ = best_time(lambda X=X, kmeans=kmeans: kmeans.index.search(X, 1), 1)
                times["search"] = min(times["search"], elapsed)
        ours = exact_inertia(X, vq.codebook_)
        if faiss is None:
            row = (f"{n_rows:,}", f"{times['skreg']:.2f}", "-", "-", "-", "-", "-", "-",
                   vq.n_iter_)
        else:
            theirs = exact_inertia(X, kmeans.centroids)
            with_search = times["faiss"] + times["search"]
            ours_one, theirs_one = one_thread_times(X, faiss, repeats)
            row = (
                f"{n_rows:,}", f"{times['skreg']:.2f}", f"{times['faiss']:.2f}",
                f"{times['skreg'] / times['faiss']:.2f}", f"{times['skreg'] / with_search:.2f}",
                f"{ours_one / theirs_one:.2f}", f"{times['pass'] / times['faiss']:.2f}",
                f"{ours / theirs:.3f}", vq.n_iter_,
            )
        print(line.format(*row))
    print(f"   targets: time ratio <= 1.0, inertia ratio <= 0.97 (best of {repeats}, alternated)")
    growth = fit_memory_growth(memory_rows)
    data_bytes = memory_rows * 16 * 4
    print(
        f"   fit on {memory_rows:,} x 16 float32 ({data_bytes / MIB:.0f} MiB): peak resident "
        f"memory growth {growth['growth'] / MIB:.0f} MiB = {growth['growth'] / data_bytes:.2f}x "
        f"the data (target <= 2), {growth['seconds']:.1f} s"
    )


def one_thread_times(X, faiss, repeats):
    """Best times of skreg's fit and faiss's train, each on one thread, alternated."""
    ours = theirs = np.inf
    faiss_threads = faiss.omp_get_max_threads()
    try:
        for _ in range(repeats):
            with threadpool_limits(1):
                elapsed, _ = best_time(lambda: VectorQuantizer(256, random_state=0).fit(X), 1)
            ours = min(ours, elapsed)
            faiss.omp_set_num_threads(1)
            elapsed, _ = best_time(lambda: faiss.Kmeans(X.shape[1], 256, seed=0).train(X), 1)
            faiss.omp_set_num_threads(faiss_threads)
            theirs = min(theirs, elapsed)
    finally:
        faiss.omp_set_num_threads(faiss_threads)
    return ours, theirs


# The fit measured in a fresh process: its peak resident memory (VmHWM, which also sees what
# tracemalloc misses) reset after the data is made, so the growth is the fit's own.
_MEMORY_CHILD = r"""
import json, sys, time
import numpy as np
from skreg import VectorQuantizer

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

n_rows = int(sys.argv[1])
rng = np.random.default_rng(0)
centers = rng.uniform(-10, 10, size=(256, 16)).astype(np.float32)
X = np.empty((n_rows, 16), dtype=np.float32)
for start in range(0, n_rows, 1_000_000):  # built in place: no float64 copy of X
    stop = min(start + 1_000_000, n_rows)
    X[start:stop] = centers[rng.integers(256, size=stop - start)]
    X[start:stop] += 3 * rng.standard_normal((stop - start, 16), dtype=np.float32)
VectorQuantizer(256, random_state=0).fit(X[:20_000])  # warm up: imports, thread pools
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident size
before = status("VmRSS")
start = time.perf_counter()
VectorQuantizer(256, random_state=0).fit(X)
seconds = time.perf_counter() - start
print(json.dumps({"growth": status("VmHWM") - before, "seconds": seconds}))
"""


def fit_memory_growth(n_rows):
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(n_rows)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument(
        "--sections", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="sections to run"
    )
    args = parser.parse_args()
    quick = args.quick
    sections = {
        1: lambda: bench_fit(seeds=[0] if quick else [0, 1, 2]),
        2: lambda: bench_predict(n_rows=200_000 if quick else 1_000_000, repeats=2 if quick else 3),
        3: lambda: bench_partial_fit(
            n_total=2_000_000 if quick else 5_000_000, chunk_rows=50_000 if quick else 100_000
        ),
        4: bench_compression,
        5: lambda: bench_scale(
            sizes=[50_000, 200_000] if quick else [100_000, 400_000, 1_600_000],
            repeats=1 if quick else 3,
            memory_rows=1_000_000 if quick else 10_000_000,
        ),
    }
    start = time.perf_counter()
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}")
    for section in args.sections:
        sections[section]()
    print(f"load average at end: {open('/proc/loadavg').read().split()[:3]}")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
