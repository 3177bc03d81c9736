"""Ctrl-C cells of the bad-input matrix: a real SIGINT sent to a net training in a child process.

Loaded by ``_robustness.py`` from the same folder (by path, as the audit loads that file), so
that the cells can audit an older skreg too; the child loads ``make_data`` from the cells file
it is given. Outcomes are returned as ``(kind, detail)``; ``_robustness`` wraps them.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

_CHILD = r"""
import json, sys, time, warnings
import numpy as np
import skorch
from sklearn.base import is_classifier
import importlib.util
from skreg.utils.discovery import all_estimators

name, params, mode, cells_file = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
spec = importlib.util.spec_from_file_location("_robustness_cells", cells_file)
cells = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cells)
make_data = cells.make_data
estimator = dict(all_estimators())[name](**params)
X, y = make_data(estimator, n_samples=1000, n_features=4)
kwargs = {"classes": np.unique(y)} if is_classifier(estimator) else {}
notify = skorch.NeuralNet.notify

def report(event, **data):
    print(json.dumps({"event": event, "time": time.time(), **data}), flush=True)

def counting_notify(net, method_name, **cb_kwargs):
    notify(net, method_name, **cb_kwargs)
    if method_name == "on_epoch_end":
        report("epoch")

def output():
    return (estimator.predict_proba(X[:50]) if hasattr(estimator, "predict_proba")
            else estimator.predict(X[:50]))

estimator.set_params(max_iter=1, batch_size=32, random_state=0)
estimator.fit(X, y)
previous = {"output": output(), "n_iter": estimator.n_iter_}
result = {"outcome": "returned"}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        if mode == "fit":
            estimator.set_params(max_iter=10000)
            skorch.NeuralNet.notify = counting_notify
            report("start")
            estimator.fit(X, y)
        else:
            report("start")
            for call in range(400):
                estimator.partial_fit(X, y, **kwargs)
                previous = {"output": output(), "n_iter": estimator.n_iter_}
                report("epoch")
    except KeyboardInterrupt:
        result = {"outcome": "interrupt", "time": time.time()}
    except BaseException as exc:
        result = {"outcome": type(exc).__name__ + ": " + str(exc)[:100], "time": time.time()}
skorch.NeuralNet.notify = notify
state = {}
try:
    n_iter = estimator.n_iter_
    state["consistent"] = n_iter == len(estimator.history_) == len(estimator.loss_curve_)
    now = output()
    state["previous"] = n_iter == previous["n_iter"] and bool(np.allclose(now, previous["output"]))
    state["n_iter"] = n_iter
    state["warned"] = any("interrupt" in str(w.message) for w in caught)
    if mode == "fit" and not state["previous"]:
        # the model kept must be the one of its last completed epoch: refit that many epochs
        reference = estimator.__class__(**{**estimator.get_params(), "max_iter": n_iter})
        reference.fit(X, y)
        ref = (reference.predict_proba(X[:50]) if hasattr(reference, "predict_proba")
               else reference.predict(X[:50]))
        state["last_epoch"] = bool(np.allclose(now, ref, atol=1e-4))
except BaseException as exc:
    state["broken"] = type(exc).__name__ + ": " + str(exc)[:100]
report("done", result=result, state=state)
"""


def sigint_outcome(name, params, mode, *, cells_file, epochs_before_signal=2, timeout=300,
                   max_latency=2.0):
    """Run a net's ``fit`` ("fit") or a ``partial_fit`` loop ("partial_fit") in a subprocess,
    send it a real SIGINT after ``epochs_before_signal`` epochs, and classify what happened:
    correct when KeyboardInterrupt reached the caller within ``max_latency`` seconds and the
    estimator holds the previous model or, warned, the model of its last completed epoch.
    """
    with tempfile.TemporaryDirectory() as directory:
        import skreg  # the child imports the same skreg as this process

        root = os.path.dirname(os.path.dirname(os.path.abspath(skreg.__file__)))
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, name, json.dumps(params), mode,
             cells_file],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
            cwd=directory,
        )
        sent, n_epochs, done, ignored = None, 0, None, False
        killer = threading.Timer(timeout, child.kill)
        killer.start()
        try:
            for line in child.stdout:
                event = json.loads(line)
                if event["event"] == "epoch":
                    n_epochs += 1
                    if n_epochs == epochs_before_signal and sent is None:
                        sent = time.time()
                        child.send_signal(signal.SIGINT)
                    elif sent is not None and event["time"] - sent > max_latency:
                        ignored = True  # still training well after Ctrl-C
                        break
                elif event["event"] == "done":
                    done = event
        finally:
            killer.cancel()
            child.kill()
            child.wait()
    if ignored:
        return ("silently wrong", "Ctrl-C did not reach the caller: training went on")
    if done is None:
        return ("unhelpful failure", "the child did not finish")
    result, state = done["result"], done["state"]
    if result["outcome"] == "returned":
        return ("silently wrong", "Ctrl-C did not reach the caller")
    if result["outcome"] != "interrupt":
        return ("unhelpful failure", result["outcome"])
    latency = result["time"] - sent
    if latency > max_latency:
        return ("unhelpful failure", f"KeyboardInterrupt reached the caller {latency:.1f}s "
                                            "after Ctrl-C")
    if "broken" in state or not state.get("consistent"):
        return ("silently wrong", f"half-state after Ctrl-C: {state}"[:160])
    if not state["previous"] and not (state.get("last_epoch") and state.get("warned")):
        return ("silently wrong", f"neither the previous nor the last epoch's model, "
                                         f"or no warning: {state}"[:160])
    return ("correct", f"KeyboardInterrupt after {latency:.2f}s, {state}")
