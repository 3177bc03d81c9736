"""Peak memory of the neural estimators' predictions, against a budget, measured side by side.

``RegularizedNetClassifier.predict_proba`` and ``RegularizedNetRegressor.predict`` on a
2,000,000 x 20 float64 X: the growth of the process's peak resident memory (VmHWM, which sees
torch's allocations too, unlike tracemalloc) during the call, against the budget

    float32 copy of X + the output + 64 MiB

(the float32 copy is what validation makes of float64 input). For comparison, the same model
run the way the predictions were computed before (skorch's ``forward``: every batch's output
kept, concatenated, converted to float64, then the softmax) is measured in the same run. Each
measurement runs in a fresh subprocess, so one does not inherit the other's freed pages.

Run: ``python benchmarks/bench_memory.py`` (about a minute) or ``--quick`` (200,000 rows).
Linux only (reads /proc/self/status and resets the peak with /proc/self/clear_refs).
"""

import argparse
import json
import subprocess
import sys

MIB = 2**20

_CHILD = r"""
import json, sys, warnings
import numpy as np
import torch

from skreg import RegularizedNetClassifier, RegularizedNetRegressor
from skreg.neural._data import TensorDataset

n_samples, n_features, kind, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
MIB = 2**20

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

rng = np.random.default_rng(0)
X = rng.standard_normal((n_samples, n_features))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
cls = RegularizedNetClassifier if kind == "classifier" else RegularizedNetRegressor
est = cls((100,), max_iter=1, random_state=0).fit(X[:2000], y[:2000])

def old_path(X):
    # the former implementation: skorch's forward (batches concatenated), then float64
    X32 = np.asarray(X, dtype=np.float32)
    outputs = est.net_.forward(TensorDataset(torch.from_numpy(X32)))
    if kind == "classifier":
        return torch.softmax(outputs.double(), dim=1).numpy()
    return outputs.numpy().astype(np.float64).ravel()

call = {"new": est.predict_proba if kind == "classifier" else est.predict,
        "old": old_path}[path]
call(X[:1000])  # warm up: allocator pools, lazy initialization
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident size
before = status("VmRSS")
out = call(X)
growth = status("VmHWM") - before
print(json.dumps({"growth": growth, "output": out.nbytes, "x32": X.size * 4}))
"""


def measure(n_samples, n_features, kind, path):
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n_samples), str(n_features), kind, path],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows instead of 2,000,000")
    args = parser.parse_args()
    n_samples, n_features = (200_000 if args.quick else 2_000_000), 20
    print(f"peak memory growth of one prediction call on {n_samples:,} x {n_features} float64")
    print(f"{'call':<40}{'growth MiB':>12}{'budget MiB':>12}{'within':>8}{'old MiB':>10}"
          f"{'new/old':>9}")
    for kind, name in [("classifier", "RegularizedNetClassifier.predict_proba"),
                       ("regressor", "RegularizedNetRegressor.predict")]:
        new = measure(n_samples, n_features, kind, "new")
        old = measure(n_samples, n_features, kind, "old")
        budget = new["x32"] + new["output"] + 64 * MIB
        print(f"{name:<40}{new['growth'] / MIB:>12.0f}{budget / MIB:>12.0f}"
              f"{'yes' if new['growth'] <= budget else 'NO':>8}{old['growth'] / MIB:>10.0f}"
              f"{new['growth'] / old['growth']:>9.2f}")
    print("budget = float32 copy of X + output + 64 MiB; old = skorch forward + concatenation")


if __name__ == "__main__":
    main()
