"""compare_regularizers and the CLI on a Dask cluster: the same study as a local run."""

import distributed  # a test requirement (skreg[dask] in the test extra): a missing install fails
import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetRegressor, compare_regularizers
from skreg.study import _progress
from skreg.study._progress import FitWarningsSummary


@pytest.fixture(scope="module")
def cluster():
    # Two worker processes, one thread each: the fits leave this process as on a cluster.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        yield cluster


def _study(n_jobs):
    X, y = load_diabetes(return_X_y=True)
    # max_iter=1: every fit with alpha > 0 warns, so the workers' warnings are checked too
    model = make_pipeline(StandardScaler(), ElasticNetRegressor(max_iter=1, tol=1e-12))
    with pytest.warns(FitWarningsSummary):
        # Raced: three searches (all folds, the selection folds, the leader on the rest).
        return compare_regularizers(model, X[:150], y[:150], cv=3, n_jobs=n_jobs,
                                    random_state=0, verbose=1, screening="racing",
                                    regularizers={"alpha": [0.01, 0.1], "l1_ratio": [0.5]})


def test_study_on_a_dask_cluster_matches_the_local_run(cluster, monkeypatch):
    updates = []
    monkeypatch.setattr(_progress, "_tqdm_bar", lambda total: _Bar(total, updates))
    local = _study(n_jobs=1)
    local_updates, updates[:] = list(updates), []
    with distributed.Client(cluster) as client, joblib.parallel_config("dask"):
        with distributed.get_task_stream(client) as stream:
            remote = _study(n_jobs=-1)
    n_fits = local.results_["n_folds"].sum()
    assert n_fits < len(local.results_) * local.n_splits_  # raced
    assert len(stream.data) >= n_fits  # the fits ran on the cluster
    for column in ("mean_test_score", "std_test_score", "mean_train_score"):
        assert_allclose(remote.results_[column], local.results_[column], rtol=1e-10)
    assert list(remote.results_["regularizer"]) == list(local.results_["regularizer"])
    assert remote.best_params_ == local.best_params_
    # every fit reported back from the Dask workers, their warnings with it
    assert updates == local_updates == [1] * n_fits
    assert sorted(remote.warnings_) == sorted(local.warnings_)
    assert {w.category for w in remote.warnings_} == {"ConvergenceWarning"}


class _Bar:
    def __init__(self, total, updates):
        self.total, self.updates = total, updates

    def update(self, n):
        self.updates.append(n)

    def refresh(self):
        pass

    def close(self):
        pass


def test_cli_scheduler(cluster, tmp_path, capsys):
    from skreg.study import _cli

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    lines = ["a,b,y"] + [f"{a:.3f},{b:.3f},{2 * a - b + rng.normal():.3f}" for a, b in X]
    data = tmp_path / "data.csv"
    data.write_text("\n".join(lines) + "\n")
    with distributed.Client(cluster) as observer, \
            distributed.get_task_stream(observer) as stream:
        status = _cli.main([str(data), "--target", "y", "--estimator", "linear", "--quick",
                            "--scheduler", cluster.scheduler_address,
                            "--out", str(tmp_path / "report")])
    assert status == 0, capsys.readouterr().err
    assert len(stream.data) >= 3 * 17  # the quick linear study's fits, on the cluster
    assert (tmp_path / "report" / "index.html").exists()


def test_cli_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    from skreg.study import _cli

    data = tmp_path / "data.csv"
    data.write_text("a,y\n" + "".join(f"{i},{i % 7 + 0.5}\n" for i in range(30)))
    monkeypatch.setattr(_cli, "_CONNECT_TIMEOUT", "1s")
    status = _cli.main([str(data), "--target", "y", "--estimator", "linear", "--quick",
                        "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert not (tmp_path / "r").exists()
