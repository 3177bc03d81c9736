"""compare_regularizers in a notebook or a terminal: one progress bar, warnings, Display, HTML."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetRegressor, RegularizedNetClassifier, compare_regularizers
from skreg.study import _progress
from skreg.study._progress import FitWarningsSummary, summarize

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:150], y[:150]


class _RecordedBar:
    """Stands in for the tqdm bar: the total it was given and every update."""

    def __init__(self, total):
        self.total, self.first_total, self.updates, self.closed = total, total, [], False

    def update(self, n):
        self.updates.append(n)

    def refresh(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def bars(monkeypatch):
    made = []

    def bar(total):
        made.append(_RecordedBar(total))
        return made[-1]

    monkeypatch.setattr(_progress, "_tqdm_bar", bar)
    return made


def test_one_bar_counts_every_fit(diabetes, bars):
    # The default linear sweeps: baseline, 3 paths × 5 alphas, the path CV; the combination
    # is planned, then skipped (the paths all set alpha), so the total comes down to the
    # fits that ran.
    study = compare_regularizers(make_pipeline(StandardScaler(), ElasticNetRegressor()),
                                 *diabetes, cv=3, quick=True, verbose=1)
    [bar] = bars
    n_fits = len(study.results_) * study.n_splits_
    assert n_fits == (1 + 15 + 1) * 3
    assert bar.first_total == n_fits + 3
    assert bar.total == n_fits and sum(bar.updates) == n_fits
    assert bar.updates == [1] * n_fits  # one report per finished fit
    assert bar.closed


def test_threads_report_each_fit_and_their_warnings(diabetes, bars):
    # joblib's threading backend: the fits run in threads of this process, at once, and
    # report through the in-process path; the warnings are recorded once across them.
    import warnings

    import joblib

    model = make_pipeline(StandardScaler(), ElasticNetRegressor(max_iter=1, tol=1e-12))
    with joblib.parallel_config("threading", n_jobs=2), pytest.warns(FitWarningsSummary):
        showwarning = warnings.showwarning
        study = compare_regularizers(model, *diabetes, cv=3, verbose=1,
                                     regularizers={"alpha": [0.01, 0.1]})
        assert warnings.showwarning is showwarning  # every recording window closed
    [bar] = bars
    assert bar.updates == [1] * 9 and bar.total == 9 and bar.closed
    assert study.warnings_ and {w.category for w in study.warnings_} == {"ConvergenceWarning"}


def test_bar_catches_up_when_workers_cannot_report(diabetes, bars, monkeypatch):
    # A Dask worker on another host cannot reach this process's socket: the bar then
    # advances when each search returns, and still ends at every fit done.
    monkeypatch.setattr(_progress, "_send", lambda address, authkey, message: False)
    model = make_pipeline(StandardScaler(), ElasticNetRegressor(max_iter=1, tol=1e-12))
    with pytest.warns(FitWarningsSummary):
        study = compare_regularizers(model, *diabetes, cv=3, verbose=1,
                                     regularizers={"alpha": [0.01, 0.1]})
    [bar] = bars
    assert bar.updates == [9] and bar.total == 9
    # shown where they were raised instead of lost: here, in this process's search
    assert [w.category for w in study.warnings_] == ["ConvergenceWarning"] * 6


def test_no_bar_when_verbose_is_0(diabetes, bars):
    compare_regularizers(ElasticNetRegressor(), *diabetes, cv=2,
                         regularizers={"alpha": [0.1]}, verbose=0)
    assert bars == []


def _unconverged_study(diabetes, n_jobs):
    model = make_pipeline(StandardScaler(), ElasticNetRegressor(max_iter=1, tol=1e-12))
    with pytest.warns(FitWarningsSummary) as summary:
        study = compare_regularizers(model, *diabetes, cv=3, n_jobs=n_jobs,
                                     regularizers={"alpha": [0.01, 0.1]})
    return study, summary


def test_fit_warnings_are_kept_and_summed_up_once(diabetes):
    study, summary = _unconverged_study(diabetes, n_jobs=1)
    # alpha=0 (the baseline) is solved in closed form; the two alphas × 3 folds are not
    assert [w.category for w in study.warnings_] == ["ConvergenceWarning"] * 6
    assert "did not converge" in study.warnings_[0].message
    assert len(summary) == 1
    assert "6 warnings: 6 ConvergenceWarning" in str(summary[0].message)


def test_summarize_names_the_kinds():
    records = [_progress.FitWarning("ConvergenceWarning", "slow\nmore", "a.py", 1)] * 2 + [
        _progress.FitWarning("UserWarning", "odd", "b.py", 2)]
    assert summarize(records) == ('3 warnings: 2 ConvergenceWarning ("slow"), '
                                  '1 UserWarning ("odd")')
    assert summarize([]) == ""


_SCRIPT = """
import json, sys
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skreg import ElasticNetRegressor, compare_regularizers

# tqdm.auto warns (TqdmWarning) at import in Jupyter without ipywidgets: not loaded by skreg
auto = sorted(m for m in sys.modules if m in ("tqdm.auto", "tqdm.autonotebook"))

X, y = load_diabetes(return_X_y=True)
model = make_pipeline(StandardScaler(), ElasticNetRegressor(max_iter=1, tol=1e-12))
study = compare_regularizers(model, X[:150], y[:150], cv=3, n_jobs=2, verbose=1,
                             regularizers={"alpha": [0.01, 0.1]})
print(json.dumps({"auto": auto, "fits": len(study.results_) * study.n_splits_,
                  "warnings": [w.category for w in study.warnings_]}))
"""


def test_workers_feed_the_bar_and_their_warnings_do_not_leak(tmp_path):
    # Two loky worker processes, in a fresh interpreter so that the workers' stderr is the
    # one this test reads (and so that nothing imported tqdm.auto before skreg).
    script = tmp_path / "study.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["auto"] == []
    assert result["fits"] == 9
    assert result["warnings"] == ["ConvergenceWarning"] * 6  # as with n_jobs=1
    # tqdm's text bar on stderr ends at every fit done
    counts = re.findall(r"(\d+)/(\d+) \[", run.stderr)
    assert counts[-1] == ("9", "9")
    # one summary warning, no line per worker warning
    assert run.stderr.count("ConvergenceWarning") == 1
    assert run.stderr.count("FitWarningsSummary") == 1


def test_nets_own_bars_are_off_inside_a_study(capsys):
    X, y = load_iris(return_X_y=True)
    net = RegularizedNetClassifier((4,), max_iter=2, verbose=1)
    study = compare_regularizers(net, X, y, cv=2, regularizers={"dropout": [0.2]})
    captured = capsys.readouterr()
    assert "epoch" not in captured.err + captured.out
    assert study.base_estimator_.verbose == 0 and net.verbose == 1  # the user's is kept


@pytest.fixture(scope="module")
def study(diabetes):
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    return compare_regularizers(model, *diabetes, cv=3, quick=True)


def test_plot_is_a_display_known_to_pyplot(study):
    import matplotlib.pyplot as plt

    display = study.plot()
    try:
        assert display.figure_.number in plt.get_fignums()
        assert [ax.get_title() for ax in display.axes_] == [s.name for s in study.sweeps_]
        assert display.ax_ is display.axes_[0]
    finally:
        plt.close(display.figure_)


def test_display_draws_into_given_axes(study):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2)
    try:
        names = ["L2 (ridge)", "L1 (lasso)"]
        display = study.plot(names, ax=axes)
        assert display.figure_ is figure and list(display.axes_) == list(axes)
        assert [ax.get_title() for ax in axes] == names
        assert len(plt.get_fignums()) == 1  # no second figure
        # test and train curves with their error bars, the best marked
        ridge = study.results_[study.results_["regularizer"] == "L2 (ridge)"]
        test_line = [line for line in axes[0].get_lines() if line.get_marker() == "o"][0]
        np.testing.assert_allclose(test_line.get_ydata(), ridge["mean_test_score"])
        with pytest.raises(ValueError, match="ax has 2 Axes for 3 regularizers"):
            study.plot(ax=axes)
    finally:
        plt.close(figure)


def test_repr_html_shows_the_verdict_and_table(study):
    html = study._repr_html_()
    assert study.verdict().split(",")[0] in html
    for name in ["baseline", *study.verdicts_["regularizer"]]:
        assert f"<td>{name}</td>" in html
    for verdict in study.verdicts_["verdict"]:
        assert f"<td>{verdict}</td>" in html
    assert "<table" in html
    assert ("warnings_" in html) == bool(study.warnings_)


def test_repr_html_escapes_what_it_shows(study):
    scoring = study.scoring_
    study.scoring_ = "score<X>"  # a user's scorer may be named anything
    try:
        html = study._repr_html_()
        assert "score&lt;X&gt;" in html and "score<X>" not in html
    finally:
        study.scoring_ = scoring


def test_cli_prints_one_warnings_line_and_lists_them_in_the_report(tmp_path, capsys,
                                                                    monkeypatch):
    from skreg.study import _cli

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    rows = ["a,b,c,y"] + [f"{a:.3f},{b:.3f},{c:.3f},{a + 0.1 * c:.3f}" for a, b, c in X]
    data = tmp_path / "data.csv"
    data.write_text("\n".join(rows) + "\n")

    def unconverged(X, task, which, *, quick, random_state, **options):
        model = make_pipeline(_cli.preprocessing(X), ElasticNetRegressor(max_iter=1,
                                                                         tol=1e-12))
        return {"linear model": model}

    monkeypatch.setattr(_cli, "estimators", unconverged)
    status = _cli.main([str(data), "--target", "y", "--quick", "--n-jobs", "1",
                        "--out", str(tmp_path / "report")])
    captured = capsys.readouterr()
    assert status == 0
    line = [text for text in captured.out.splitlines() if "warnings:" in text]
    assert len(line) == 1 and "ConvergenceWarning" in line[0]
    assert "ConvergenceWarning" not in captured.err
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "<details><summary>" in page and "did not converge" in page
