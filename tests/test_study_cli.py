"""python -m skreg.study on CSV files: the report, the detected task, one-line errors."""

import numpy as np
import pandas as pd
import pytest

from skreg.study._cli import main


@pytest.fixture
def mixed_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 45
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "city": rng.choice(["Paris", "Lyon", "Nice & <Co>"], n),
        "income": rng.lognormal(10, 1, n),
    })
    frame["label"] = np.where(frame["age"] + 5 * rng.normal(size=n) > 40, "yes", "no")
    frame.loc[rng.random(n) < 0.15, "age"] = np.nan
    frame.loc[rng.random(n) < 0.15, "city"] = np.nan
    frame.loc[3, "label"] = np.nan
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    return path


def test_cli_classification_report(mixed_csv, tmp_path, capsys):
    out = tmp_path / "report"
    status = main([str(mixed_csv), "--target", "label", "--estimator", "linear", "--quick",
                   "--cv", "2", "--n-jobs", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "classification (2 classes)" in printed and "1 dropped" in printed
    assert "linear model (accuracy, 2-fold CV repeated 2 times)" in printed
    assert f"report: {(out / 'index.html').resolve()}" in printed
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "L1 (lasso)" in page and "Nice &amp; &lt;Co&gt;" not in page
    assert (out / "results.csv").exists() and list(out.glob("*.png"))
    results = pd.read_csv(out / "results.csv")
    assert set(results["study"]) == {"linear model"}
    assert len(results) == 1 + 3 * 5 + 1  # baseline, three paths, the path CV's choice


def test_cli_regression_with_numeric_target(mixed_csv, tmp_path, capsys):
    out = tmp_path / "report"
    status = main([str(mixed_csv), "--target", "income", "--estimator", "net", "--quick",
                   "--cv", "2", "--n-jobs", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "regression" in printed and "(R²" in printed
    results = pd.read_csv(out / "results.csv")
    # the net sits inside a TransformedTargetRegressor: its epochs are still read
    stopped = results["params"].str.contains("early_stopping=on")
    # --quick trains the nets as long as the full study (100 epochs): not under-trained
    assert results.loc[~stopped, "n_iter"].eq(100).all()
    assert results.loc[stopped, "n_iter"].le(100).all()
    assert "dropout" in (out / "index.html").read_text(encoding="utf-8")
    assert "label smoothing" not in set(results["regularizer"])


@pytest.mark.parametrize("make, args, message", [
    (lambda p: p, ["--target", "nope"], "column 'nope' not found in people.csv"),
    (lambda p: p, ["--target", "city", "--task", "regression"], "is not numeric"),
    (lambda p: pd.read_csv(p).assign(label="yes").to_csv(p, index=False),
     ["--target", "label"], "single class ('yes')"),
    (lambda p: p.write_text(""), ["--target", "label"], "is empty"),
    (lambda p: p.write_text("a,label\n"), ["--target", "label"], "no data rows"),
    (lambda p: p.unlink(), ["--target", "label"], "no such file"),
    (lambda p: p, ["--target", "label", "--cv", "40"], "needs at least 40 per class"),
])
def test_cli_bad_input_is_one_line(mixed_csv, capsys, make, args, message):
    make(mixed_csv)
    assert main([str(mixed_csv), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("python -m skreg.study: error: ")
    assert message in lines[0]
