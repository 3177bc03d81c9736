"""python -m skreg.study on CSV files: the report, the detected task, one-line errors."""

import numpy as np
import pandas as pd
import pytest

from skreg.study._cli import _parser, estimators, main, net_epochs, prepare, read_table


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


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("text, message", [
    ("a,y,y\n1,2,3\n4,5,6\n", "duplicate column names: 'y' (2 times)"),
    ("a,b,y\n" + "1,2,0\n3,4,inf\n5,6,1\n" * 4, "target column 'y' holds 4 infinite values"),
    ("a,b,y\n" + "1,2,0\n-inf,4,1\n5,6,1\n" * 4,
     "feature column 'a' holds infinite values (inf or -inf) in 4 rows"),
    ("a,b,c,y\n" + "1,inf,2,0\n3,4,-inf,1\n5,6,7,1\n9,-inf,8,0\n" * 3,
     "feature columns 'b', 'c' hold infinite values (inf or -inf) in 9 rows"),
    ("x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate([1000.0] * 8 + [3075.0] + [42.5] * 8)),
     "class 3075.0 of target 'y' has 1 row; 5-fold cross-validation needs at least 5 per "
     "class (lower --cv or drop the class, or --task regression if it is a quantity)"),
])
def test_cli_bad_table_is_one_line(tmp_path, capsys, text, message):
    data = _write(tmp_path / "table.csv", text)
    args = [str(data), "--target", "y"] + (["--task", "classification"] if "3075" in text else [])
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert message in captured.err and "np.float64" not in captured.err


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_read_table_detects_the_separator(tmp_path, sep):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=12).round(3), "city": ["A, B"] * 6 + ["C"] * 6,
                          "label": rng.integers(0, 2, 12)})
    path = tmp_path / "table.csv"
    frame.to_csv(path, sep=sep, index=False)
    pd.testing.assert_frame_equal(read_table(path), pd.read_csv(path, sep=sep))
    assert read_table(path, sep=sep).shape == (12, 3)


def test_cli_separator_and_encoding_options(tmp_path, capsys):
    args = _parser().parse_args(["data.csv", "--target", "y", "--sep", "\\t",
                                 "--encoding", "CP1252"])
    assert (args.sep, args.encoding) == ("\t", "cp1252")
    for bad in (["--sep", ";;"], ["--encoding", "klingon"]):
        with pytest.raises(SystemExit):
            _parser().parse_args(["data.csv", "--target", "y", *bad])
    assert "klingon" in capsys.readouterr().err
    text = "ville;prix;y\n" + "".join(f"Orléans;{i},5;{i % 2}\n" for i in range(12))
    data = _write(tmp_path / "excel.csv", text, encoding="cp1252")
    assert main([str(data), "--target", "y", "--out", str(tmp_path / "r")]) == 2
    error = capsys.readouterr().err
    assert "excel.csv is not utf-8 text (byte 0xe9" in error
    assert error.strip().endswith("give its encoding, e.g. --encoding cp1252")
    frame = read_table(data, encoding="cp1252")
    assert list(frame.columns) == ["ville", "prix", "y"] and frame["ville"].iloc[0] == "Orléans"


@pytest.mark.parametrize("target, task", [
    (np.arange(20) * 150 + 75, "regression"),  # integer prices, every one distinct
    (np.tile([0, 1, 2, 3], 10), "classification"),  # 4 labels, 10 rows each
    (np.tile([0, 1], 4), "classification"),  # two values are labels at any size
    (np.tile([1.0, 2.0, 3.0], 10) + 0.5, "regression"),  # not integers
    (np.tile(np.arange(8), 3), "regression"),  # 8 values, 3 rows each: too few for labels
])
def test_task_detection(target, task):
    frame = pd.DataFrame({"x": np.arange(len(target)), "y": target})
    assert prepare(frame, "y", None, 2, "table.csv")[2] == task


def test_missing_features_are_imputed_not_refused(tmp_path):
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0] * 5, "y": np.arange(20) * 1.5})
    X, y, task, _ = prepare(frame, "y", None, 2, "table.csv")
    assert task == "regression" and X["x"].isna().sum() == 5


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_comma_numbers_are_read_as_numbers(tmp_path, sep):
    # A spreadsheet saved in a locale that writes 3,75: the numbers are numbers (a regression
    # target, a numeric feature), not text categories; a comma-separated file is left as is.
    rng = np.random.default_rng(0)
    x, price = rng.normal(size=30).round(2), rng.normal(100, 10, 30).round(2)
    lines = [sep.join(["x", "city", "price"])]
    lines += [sep.join([f"{a}".replace(".", ","), "Lyon, FR" if i % 2 else "Nice",
                        f"{b:.2f}".replace(".", ",")])
              for i, (a, b) in enumerate(zip(x, price, strict=True))]
    data = _write(tmp_path / "locale.csv", "\n".join(lines) + "\n")
    frame = read_table(data)
    assert frame.attrs["decimal"] == ","
    np.testing.assert_allclose(frame["price"], price)
    np.testing.assert_allclose(frame["x"], x)
    assert frame["city"].tolist()[:2] == ["Nice", "Lyon, FR"]
    X, y, task, description = prepare(frame, "price", None, 5, "locale.csv")
    assert task == "regression" and "1 numeric and 1 categorical" in description
    assert "decimal comma" in description
    # Told otherwise, the columns stay text (and the target is refused as not numeric).
    frame = read_table(data, decimal=".")
    assert not pd.api.types.is_numeric_dtype(frame["price"]) and frame.attrs["decimal"] == "."
    assert _parser().parse_args(["d.csv", "--target", "y", "--decimal", ","]).decimal == ","


def test_a_text_column_of_codes_is_not_taken_for_decimal_numbers(tmp_path):
    data = _write(tmp_path / "codes.csv",
                  "code;y\n" + "".join(f"A{i},{i};{i}\n" for i in range(10)))
    frame = read_table(data)
    assert frame.attrs["decimal"] == "." and frame["code"].iloc[1] == "A1,1"


@pytest.mark.parametrize("quick", [True, False])
def test_cli_net_trains_a_budget_of_steps_on_large_tables(quick):
    """100 epochs while a training fold has up to 10,000 rows (50 batches of 200), then
    about 5,000 optimizer steps, at least 20 epochs; the same rule in both modes."""
    for n_train, epochs in ((300, 100), (10_000, 100), (10_200, 99), (25_000, 40),
                            (40_000, 25), (133_334, 20), (10**6, 20)):
        assert net_epochs(n_train) == epochs
        steps_per_epoch = -(-n_train // 200)
        if 20 < epochs < 100:  # the fewest epochs that make the budget
            assert 5_000 <= epochs * steps_per_epoch < 5_000 + steps_per_epoch
    # The smallest training fold of 30,000 rows: 20,000 rows (3 folds, 50 epochs), 24,000
    # (5 folds, 42 epochs).
    for n_rows, epochs in ((1_500, 100), (30_000, 50 if quick else 42)):
        X = pd.DataFrame({"a": np.zeros(n_rows), "b": np.ones(n_rows)})
        model = estimators(X, "regression", "net", quick=quick, random_state=0)["neural net"]
        assert model.get_params()["net__regressor__max_iter"] == epochs


def test_cli_epochs_option_overrides_the_budget(capsys):
    X = pd.DataFrame({"a": np.zeros(30_000), "b": np.ones(30_000)})
    model = estimators(X, "classification", "net", quick=True, random_state=0,
                       epochs=100)["neural net"]
    assert model.get_params()["net__max_iter"] == 100
    assert _parser().parse_args(["d.csv", "--target", "y", "--epochs", "7"]).epochs == 7
    for bad in ("0", "-3", "ten"):
        with pytest.raises(SystemExit):
            _parser().parse_args(["d.csv", "--target", "y", "--epochs", bad])
    assert "--epochs: must be a positive integer, got 'ten'" in capsys.readouterr().err
