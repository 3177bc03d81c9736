"""The study's report never loses a file: real files in a temporary folder, a real Ctrl-C."""

import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import ElasticNetRegressor, compare_regularizers
from skreg.study import _report, write_report
from skreg.study._cli import main
from skreg.study._files import MANIFEST

ROOT = Path(__file__).resolve().parents[1]


def _study(name):
    X, y = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    return compare_regularizers(model, X[:80], y[:80], regularizers=[name], cv=2, quick=True)


@pytest.fixture(scope="module")
def ridge():
    return _study("L2 (ridge)")


@pytest.fixture(scope="module")
def lasso():
    return _study("L1 (lasso)")


def _snapshot(folder):
    """``{relative path: bytes}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _assert_whole_report(page, others=()):
    """The page, every file it links, and a manifest listing the folder's files but ``others``."""
    text = page.read_text(encoding="utf-8")
    base = re.search(r'<base href="([^"]*)">', text)
    folder = page.parent / (unquote(base.group(1)) if base else "")
    links = re.findall(r'(?:src|href)="([^"]+\.(?:png|csv))"', text)
    assert links and all((folder / link).is_file() for link in links), links
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    on_disk = {p.name for p in folder.iterdir() if p.name not in (MANIFEST, *others)}
    assert set(manifest["files"]) == on_disk
    assert not list(page.parent.glob(".skreg-tmp-*")) and not list(folder.glob(".skreg-tmp-*"))
    return text


def test_a_new_report_replaces_only_the_files_of_the_old_one(ridge, lasso, tmp_path):
    out = tmp_path / "report"
    assert ridge.to_html(out) == out / "index.html"
    assert (out / "study1-l2-ridge.png").is_file()
    _assert_whole_report(out / "index.html")
    lasso.to_html(out)
    text = _assert_whole_report(out / "index.html")
    assert "L1 (lasso)" in text and "L2 (ridge)" not in text
    assert not (out / "study1-l2-ridge.png").exists()  # the old report's figure, not linked


def test_a_folder_holding_other_files_is_refused_unless_forced(ridge, lasso, tmp_path):
    out = tmp_path / "mine"
    (out / "photos").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "photos" / "cat.png").write_bytes(b"\x89PNG")
    before = _snapshot(out)
    with pytest.raises(FileExistsError, match=r"mine holds files that no skreg study wrote "
                                              r"\(notes.txt, photos/\).*force=True"):
        ridge.to_html(out)
    assert _snapshot(out) == before
    ridge.to_html(out, force=True)
    lasso.to_html(out, force=True)  # the earlier report is replaced, the user's files kept
    after = _snapshot(out)
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"index.html", "results.csv", "study1-l1-lasso.png",
                                        MANIFEST}


def test_a_file_no_study_wrote_is_never_replaced_even_forced(ridge, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<p>my home page</p>")
    for force in (False, True):
        with pytest.raises(FileExistsError, match="index.html would be replaced"):
            ridge.to_html(out, force=force)
    assert (out / "index.html").read_text() == "<p>my home page</p>"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]


def test_a_report_written_before_the_manifest_is_recognised(ridge, lasso, tmp_path):
    out = tmp_path / "report"
    ridge.to_html(out)
    (out / MANIFEST).unlink()  # as skreg wrote reports before the manifest existed
    lasso.to_html(out)
    _assert_whole_report(out / "index.html")
    assert not (out / "study1-l2-ridge.png").exists()


def test_an_edited_manifest_cannot_reach_outside_the_folder(ridge, lasso, tmp_path):
    out = tmp_path / "report"
    ridge.to_html(out)
    (tmp_path / "victim.txt").write_text("keep me")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] += ["../victim.txt", str(tmp_path / "victim.txt")]
    (out / MANIFEST).write_text(json.dumps(manifest))
    lasso.to_html(out)
    assert (tmp_path / "victim.txt").read_text() == "keep me"
    _assert_whole_report(out / "index.html")


def test_an_html_name_is_the_page_with_its_figures_beside_it(ridge, lasso, tmp_path):
    page = tmp_path / "my study.html"
    assert write_report({"ridge": ridge}, page) == page
    _assert_whole_report(page)
    assert (tmp_path / "my study_files" / "study1-l2-ridge.png").is_file()
    assert '<base href="my%20study_files/">' in page.read_text(encoding="utf-8")
    lasso.to_html(page)
    _assert_whole_report(page)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my study.html", "my study_files"]
    other = tmp_path / "other.html"
    other.write_text("<p>mine</p>")
    with pytest.raises(FileExistsError, match="other.html would be replaced"):
        ridge.to_html(other, force=True)
    assert other.read_text() == "<p>mine</p>" and not (tmp_path / "other_files").exists()


@pytest.mark.parametrize("make, path, error, message", [
    (lambda d: (d / "data.csv").write_text("a"), "data.csv", FileExistsError,
     "data.csv: it is a file"),
    (lambda d: (d / "data.csv").write_text("a"), "data.csv/report", NotADirectoryError,
     "data.csv is a file, so nothing can be created under it"),
    (lambda d: (d / "page.html").mkdir(), "page.html", FileExistsError, "it is a folder"),
])
def test_a_bad_report_path_is_refused_before_writing(ridge, tmp_path, make, path, error,
                                                     message):
    make(tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(error, match=re.escape(message)):
        ridge.to_html(tmp_path / path)
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not bind root")
def test_an_unwritable_folder_is_refused(ridge, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="locked is not writable"):
            ridge.to_html(locked / "report")
    finally:
        locked.chmod(0o700)


def test_a_failure_while_writing_leaves_the_old_report(ridge, lasso, tmp_path, monkeypatch):
    out = tmp_path / "report"
    ridge.to_html(out)
    before = _snapshot(out)
    calls = []

    def fail_on_second(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return technique(*args)

    technique = _report._technique
    monkeypatch.setattr(_report, "_technique", fail_on_second)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report({"lasso": lasso, "ridge": ridge}, out)
    assert _snapshot(out) == before
    new = tmp_path / "new" / "deeper" / "report"
    calls.clear()
    with pytest.raises(RuntimeError, match="disk full"):
        write_report({"lasso": lasso, "ridge": ridge}, new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # folders made, removed


_WRITER = textwrap.dedent("""
    import sys
    from sklearn.datasets import load_diabetes
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skreg import ElasticNetRegressor, compare_regularizers
    from skreg.study import write_report

    X, y = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    studies = [compare_regularizers(model, X[:80], y[:80], regularizers=[name], cv=2,
                                    quick=True) for name in ("L2 (ridge)", "L1 (lasso)")]
    count = 0
    print("ready", flush=True)
    while True:
        try:
            while True:  # alternate reports with different figures, as fast as possible
                write_report({f"report {count}": studies[count % 2]}, sys.argv[1])
                count += 1
                print("wrote", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            while True:  # a Ctrl-C pressed again while the test reads the report: ignored
                try:
                    line = sys.stdin.readline()
                    break
                except KeyboardInterrupt:
                    pass
            if line.strip() == "stop":
                break
""")


def _default_sigint():
    """In the child: Ctrl-C as in a terminal, whatever the test runner inherited.

    A shell starts background jobs with SIGINT ignored (``make test &``), and a Python
    started with SIGINT ignored never installs its KeyboardInterrupt handler.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _Lines:
    """The child's stdout, line by line, read by a thread: ``get`` waits with a timeout.

    (``select`` on the pipe misses lines already in the reader's buffer.)
    """

    def __init__(self, stream):
        self._queue = queue.Queue()

        def pump():
            for line in stream:
                self._queue.put(line.strip())
            self._queue.put(None)  # the child closed its stdout: it ended

        threading.Thread(target=pump, daemon=True).start()

    def get(self, timeout=180):  # generous: a loaded 2-core CI machine
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the child did not answer") from None
        assert line is not None, "the child ended"
        return line


def _read_line(process, timeout=180):
    if not hasattr(process, "lines"):
        process.lines = _Lines(process.stdout)
    return process.lines.get(timeout)


def _first_line(process, timeout=180):
    """The child's first line, its stdout left to ``communicate`` afterwards."""
    assert select.select([process.stdout], [], [], timeout)[0], "the child did not answer"
    return process.stdout.readline().strip()


def _interrupt(process):
    """Ctrl-C, pressed again when it went unnoticed; True once the writer says so.

    Python drops a KeyboardInterrupt raised inside a garbage-collection callback ("Exception
    ignored in ..."), as happens when a figure is collected: a user would press Ctrl-C again.
    Reports finished for 10 s after the signal (the "wrote" lines of reports finished before
    it are read and skipped), or silence, mean the signal was lost; Ctrl-C pressed again
    sooner could land in the writer's own handler.
    """
    for _ in range(5):
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = _read_line(process, timeout=left)
            except AssertionError:
                break
            if line == "interrupted":
                return True
    raise AssertionError("the writer was not interrupted")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_while_writing_leaves_a_whole_report(tmp_path):
    """Real SIGINTs at random moments of a loop of reports: each time, one whole report."""
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    out = tmp_path / "report"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    process = subprocess.Popen([sys.executable, str(script), str(out)], env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               preexec_fn=_default_sigint)
    rng = np.random.default_rng(0)
    try:
        assert _read_line(process) == "ready"
        titles = set()
        delays = rng.uniform(0.05, 1.5, size=4)
        for round_, delay in enumerate(delays, start=1):
            assert _read_line(process) == "wrote"  # a new report each round
            time.sleep(delay)
            assert _interrupt(process)
            if (out / "index.html").exists():
                text = _assert_whole_report(out / "index.html")
                titles.add(re.search(r"<h2>(report \d+)</h2>", text).group(1))
            process.stdin.write("stop\n" if round_ == len(delays) else "go on\n")
            process.stdin.flush()
        assert process.wait(timeout=60) == 0
        assert len(titles) >= 2  # the rounds saw different reports
    finally:
        process.kill()
        process.wait()


def test_cli_checks_the_report_path_before_any_fit(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")

    def no_fit(*args, **kwargs):
        raise AssertionError("a study ran")

    monkeypatch.setattr("skreg.study.compare_regularizers", no_fit)
    for path, message in ((out, "(thesis.tex): choose another report path, or pass --force"),
                          (data, "it is a file"), (data / "report", "data.csv is a file")):
        assert main([str(data), "--target", "y", "--out", str(path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
        assert str(path) in captured.err and message in captured.err


def test_cli_force_writes_beside_the_users_files(tmp_path, capsys):
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    data.write_text("a,b,y\n" + "".join(f"{a:.3f},{b:.3f},{a + b:.3f}\n"
                                        for a, b in rng.normal(size=(30, 2))))
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    assert main([str(data), "--target", "y", "--estimator", "linear", "--quick", "--cv", "2",
                 "--n-jobs", "1", "--out", str(out), "--force"]) == 0
    assert f"report: {(out / 'index.html').resolve()}" in capsys.readouterr().out
    assert (out / "thesis.tex").read_text() == "mine"
    _assert_whole_report(out / "index.html", others=["thesis.tex"])


@pytest.mark.parametrize("bad, message", [
    (np.nan, r"y holds 1 missing \(NaN\) values"),
    (np.inf, r"y holds 1 infinite values"),
    (None, r"y holds 1 missing \(NaN\) values"),  # among string labels
])
def test_compare_regularizers_refuses_a_missing_or_infinite_target(bad, message):
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:40], y[:40].astype(object if bad is None else float)
    if bad is None:
        y = np.where(y > 140, "high", "low").astype(object)
    y[7] = bad
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    with pytest.raises(ValueError, match=message + ": drop those rows"):
        compare_regularizers(model, X, y, cv=2, quick=True)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_during_the_cli_study_keeps_the_old_report(ridge, tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "data.csv"
    data.write_text("a,b,y\n" + "".join(f"{a:.3f},{b:.3f},{a - b:.3f}\n"
                                        for a, b in rng.normal(size=(60, 2))))
    out = tmp_path / "report"
    ridge.to_html(out)
    before = _snapshot(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "skreg.study", str(data), "--target", "y", "--estimator", "net",
         "--n-jobs", "1", "--out", str(out)],
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=_default_sigint)
    try:
        assert _first_line(process).startswith("data.csv: target 'y', regression")
        time.sleep(1.0)  # into the fits
        for _ in range(5):  # again if it went unnoticed (see _interrupt)
            process.send_signal(signal.SIGINT)
            try:
                _, err = process.communicate(timeout=30)
                break
            except subprocess.TimeoutExpired:
                pass
        else:
            raise AssertionError("the study was not interrupted")
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert err.strip().endswith("python -m skreg.study: interrupted")
    assert _snapshot(out) == before
