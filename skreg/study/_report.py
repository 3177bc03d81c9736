"""The HTML report of one or more studies: index.html, a PNG per regularizer, results.csv.

Written through :mod:`skreg.study._files`: staged beside its place, moved in at the end.

Plain HTML and CSS, no script and nothing fetched: the folder reads the same offline, from a
file:// URL or attached to an email. Every string that comes from the user (column names,
estimator reprs, titles) goes through :func:`html.escape`.
"""

import re
import time
from collections import Counter
from html import escape

import numpy as np

from skreg.study._files import report_target, staged_report
from skreg.study._progress import summarize
from skreg.study._result import describe
from skreg.study._techniques import explain

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0; background: #fafafa; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin-top: 40px; padding-bottom: 4px; border-bottom: 2px solid #1f77b4; }
h3 { margin: 0 0 6px; }
code { font-size: 13px; background: #f1f1f1; padding: 1px 4px; border-radius: 3px;
       word-break: break-all; }
.meta { color: #555; margin: 4px 0; }
.verdict { font-size: 17px; background: #eef5fb; border-left: 4px solid #1f77b4;
           padding: 10px 14px; margin: 16px 0; }
table { border-collapse: collapse; margin: 10px 0; font-size: 14px; }
th, td { padding: 5px 12px; text-align: right; border-bottom: 1px solid #e3e3e3; }
th { background: #f3f3f3; }
th:first-child, td:first-child, .setting { text-align: left; }
tr.baseline td { font-style: italic; background: #fcfcfc; }
td.up { color: #17803a; font-weight: 600; }
td.down { color: #b3261e; }
td.noise { color: #888; font-weight: normal; }
.legend { color: #555; font-size: 13px; max-width: 900px; }
section.technique { display: flex; gap: 24px; align-items: flex-start; margin: 22px 0;
                    padding-top: 14px; border-top: 1px solid #eee; }
section.technique img { width: 440px; flex: none; }
section.technique .text { flex: 1; min-width: 0; }
.ref { color: #555; font-size: 13px; }
footer { margin-top: 40px; color: #777; font-size: 13px; }
"""


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "sweep"


_SMALL = 0.01  # below this a study's scores (squared errors) are shown in significant digits


def _number(value, digits=4, small=False):
    """Accuracies and R² with four decimals (0.9123); small scores in 3 digits (0.000708)."""
    if value is None or not np.isfinite(value):
        return ""
    return f"{value:.3g}" if small else f"{value:.{digits}f}"


def _gain_cell(gain, verdict, small):
    """The gain, green when it helps, red when it hurts, grey without evidence either way."""
    if not np.isfinite(gain):
        return '<td class="down">failed</td>'
    css = {"helps": "up", "hurts": "down"}.get(verdict, "noise")
    return f'<td class="{css}">{_signed(gain, small)}</td>'


def _summary_table(study):
    table = study.summary()
    small = abs(study.baseline_score_) < _SMALL
    lines = ["<table><thead><tr><th>regularizer</th><th class=\"setting\">best setting</th>"
             f"<th>{escape(study.scoring_)} (CV)</th><th>± std</th><th>gain over baseline</th>"
             "<th>95% interval</th><th>p (Holm)</th><th>verdict</th>"
             "<th>train − test gap</th><th>fit time (s)</th></tr></thead><tbody>"]
    for _, row in table.iterrows():
        baseline = row["regularizer"] == "baseline"
        css = ' class="baseline"' if baseline else ""
        if baseline:
            cells = "<td></td><td></td><td></td><td></td>"
        else:
            interval = (f"[{_signed(row['ci_low'], small)}, {_signed(row['ci_high'], small)}]"
                        if np.isfinite(row["ci_low"]) else "")
            cells = (_gain_cell(row["gain"], row["verdict"], small)
                     + f"<td>{interval}</td><td>{_p_value(row['p_holm'])}</td>"
                     f"<td>{escape(row['verdict'])}</td>")
        flags = (f'<br><span class="ref">⚠ {escape(row["flags"])}</span>'
                 if row["flags"] else "")
        lines.append(
            f"<tr{css}><td>{escape(str(row['regularizer']))}</td>"
            f"<td class=\"setting\">{escape(row['best setting'])}{flags}</td>"
            f"<td>{_number(row['test score'], small=small)}</td>"
            f"<td>{_number(row['std'], small=small)}</td>{cells}"
            f"<td>{_number(row['train-test gap'], small=small)}</td>"
            f"<td>{_number(row['fit time (s)'], 2)}</td></tr>"
        )
    lines.append("</tbody></table>")
    resamples = f"{study.n_splits_} folds ({study.describe_cv()})"
    lines.append(
        f'<p class="legend">Scores are means over {resamples}, every setting on the same folds. '
        "The gain is that of choosing the regularizer's strength by cross-validation over "
        f"the baseline ({escape(study.baseline_)}): on each fold, the strength chosen on the "
        "other folds, so that the luckiest setting does not inflate it. Its interval and "
        "p-value come from the corrected resampled t-test of Nadeau and Bengio (2003) on the "
        "paired per-fold differences, which allows for the overlap of the training sets; the "
        "p-values are adjusted by Holm's procedure across the rows, and a regularizer "
        "<em>helps</em> (green) or <em>hurts</em> (red) when its adjusted p-value is at most "
        "0.05, else there is no evidence either way (grey). The best setting is the best on "
        "all folds: the one to use. ⚠ marks a best strength at the edge of its grid, early "
        "stopping that never stopped, or a baseline that is under-trained or did not "
        "converge. The train − test gap measures overfitting: regularization usually narrows "
        "it. Fit times are means over the folds; the first fits of a run also pay for "
        "starting PyTorch and the worker processes.</p>"
    )
    return "\n".join(lines)


def _p_value(value):
    if value is None or not np.isfinite(value):
        return ""
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _count(value):
    """Epochs or iterations averaged over the folds: 40, or 23.7."""
    if value is None or not np.isfinite(value):
        return ""
    return f"{value:.0f}" if value == round(value) else f"{value:.1f}"


def _signed(value, small=False):
    return ("+" if value > 0 else "") + _number(value, small=small)


def _sweep_table(study, sweep):
    rows = study.results_[study.results_["regularizer"] == sweep.name]
    kept = rows[rows["kind"] == "screened"]
    rows = rows[rows["kind"] == "single"]
    small = abs(study.baseline_score_) < _SMALL
    extra = [(column, title) for column, title in (("n_iter", "iterations"),
                                                   ("best_epoch", "best epoch"))
             if rows[column].notna().any()]
    raced = not len(kept) and bool((rows["n_folds"] < study.n_splits_).any())
    if raced:
        extra.append(("n_folds", "folds"))
    lines = [f"<table><thead><tr><th>{escape(sweep.parameter)}</th><th>test</th>"
             "<th>± std</th><th>train</th><th>gain</th>"
             + "".join(f"<th>{title}</th>" for _, title in extra) + "</tr></thead><tbody>"]
    for _, row in rows.iterrows():
        strength = describe({sweep.parameter: row["strength"]}).split("=", 1)[1]
        lines.append(
            f"<tr><td>{escape(strength)}</td>"
            f"<td>{_number(row['mean_test_score'], small=small)}</td>"
            f"<td>{_number(row['std_test_score'], small=small)}</td>"
            f"<td>{_number(row['mean_train_score'], small=small)}</td>"
            f"<td>{_signed(row['gain'], small)}</td>"
            + "".join(f"<td>{_count(row[column])}</td>" for column, _ in extra) + "</tr>"
        )
    lines.append("</tbody></table>")
    if len(kept):
        row = kept.iloc[0]
        screening = ", ".join(
            f"{describe({sweep.parameter: value}).split('=', 1)[1]}: "
            f"{_number(score, small=small)} on {rows_:.0f} rows, kept {chosen:.0f}×"
            for value, score, rows_, chosen in zip(rows["strength"], rows["screening_score"],
                                                   rows["screening_rows"], rows["n_chosen"],
                                                   strict=True))
        lines.append(
            f'<p class="ref">Screened by successive halving inside each training fold '
            f"(held-out score at the largest subsample reached, rows, folds that kept it: "
            f"{escape(screening)}); the strength kept, refit on the fold: "
            f"{_number(row['mean_test_score'], small=small)} "
            f"(gain {_signed(row['gain'], small)}).</p>")
    if raced:
        lines.append(
            '<p class="ref">Raced: every strength was fitted on the first folds of each run, '
            "the leader there on all the others; each mean is over the folds its strength "
            "was fitted on, and each fold's strength was chosen on other folds.</p>")
    if sweep.fixed:
        lines.append(f'<p class="ref">With {escape(describe(sweep.fixed))}.</p>')
    return "\n".join(lines)


def _warnings_list(fit_warnings):
    """Every warning of the fits, the same ones counted once, folded under one line."""
    if not fit_warnings:
        return ""
    counts = Counter((record.category, record.message) for record in fit_warnings)
    rows = "".join(f"<tr><td>{count}</td><td>{escape(category)}</td>"
                   f'<td class="setting">{escape(message)}</td></tr>'
                   for (category, message), count in counts.most_common())
    return (f"<details><summary>{escape(summarize(fit_warnings))}</summary><table><thead>"
            "<tr><th>times</th><th>category</th><th class=\"setting\">message</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></details>")


def _technique(name, image, table):
    text, reference = explain(name)
    image_tag = f'<img src="{escape(image)}" alt="validation curve: {escape(name)}">' \
        if image else ""
    reference = f'<p class="ref">{escape(reference)}</p>' if reference else ""
    return (f'<section class="technique">{image_tag}<div class="text">'
            f"<h3>{escape(name)}</h3><p>{escape(text)}</p>{reference}{table}</div></section>")


def _study_html(study, index, title, description, folder):
    from skreg.study._plot import plot_study

    parts = [f"<h2>{escape(title)}</h2>"] if title else []
    n_samples, n_features = (list(study.data_shape_) + [1])[:2]
    parts.append(
        f'<p class="meta">Estimator: <code>{escape(repr(study.estimator))}</code></p>'
        f'<p class="meta">{n_samples} samples × {n_features} features · '
        f"{study.describe_cv()} · score: {escape(study.scoring_)} · "
        f"{study.elapsed_:.0f} s</p>"
    )
    if description:
        parts.append(f'<p class="meta">{escape(description)}</p>')
    parts.append(f'<p class="verdict">{escape(study.verdict())}</p>')
    parts.append(_summary_table(study))
    parts.append(_warnings_list(getattr(study, "warnings_", [])))
    for sweep in study.sweeps_:
        image = f"study{index}-{_slug(sweep.name)}.png"
        figure = plot_study(study, [sweep.name], ncols=1)  # outside pyplot: freed when saved
        figure.savefig(folder / image, dpi=100)
        parts.append(_technique(sweep.name, image, _sweep_table(study, sweep)))
    small = abs(study.baseline_score_) < _SMALL
    if study.combination_params_ is not None:
        row = study.results_[study.results_["kind"] == "combination"].iloc[0]
        table = (f"<p>{escape(describe(study.combination_params_))}: "
                 f"{escape(study.scoring_)} {_number(row['mean_test_score'], small=small)} "
                 f"(gain {_signed(row['gain'], small)}, train − test gap "
                 f"{_number(row['train_test_gap'], small=small)}).</p>")
        parts.append(_technique("combination", None, table))
    tuned = study.results_[study.results_["kind"] == "tuned"]
    if len(tuned):
        row = tuned.iloc[0]
        table = (f"<p>{escape(study.scoring_)} {_number(row['mean_test_score'], small=small)} "
                 f"(gain {_signed(row['gain'], small)}, train − test gap "
                 f"{_number(row['train_test_gap'], small=small)}).</p>")
        parts.append(_technique("path CV", None, table))
    return "\n".join(parts)


def write_report(studies, path, *, title="Regularization study", descriptions=None,
                 force=False):
    """Write the HTML report of one or several studies.

    Read more in the :ref:`User Guide <which-regularizer>`.

    The report is written into a temporary folder beside ``path`` and moved into place at the
    end, so that an error or Ctrl-C leaves the previous report, or the new one, whole. Its
    files are listed in a manifest (``.skreg-report.json``): a later report replaces them, and
    nothing else.

    Parameters
    ----------
    studies : RegularizationStudy or dict of str to RegularizationStudy
        The studies, by section title.
    path : str or path-like
        Folder to write: ``index.html``, one PNG per regularizer, ``results.csv`` (every
        study's ``results_``, a ``study`` column naming each). A name ending in ``.html`` is
        the page itself, its figures and ``results.csv`` in the folder ``NAME_files`` beside
        it.
    title : str, default="Regularization study"
        Title of the page.
    descriptions : dict of str to str, default=None
        A line about the data of each study (e.g. the CSV and its target column).
    force : bool, default=False
        Write into a folder that holds files no study wrote. They are kept: a file that no
        study wrote is never replaced nor deleted.

    Returns
    -------
    index : pathlib.Path
        Path of the page (``index.html`` in the folder, or the ``.html`` path given).

    Raises
    ------
    FileExistsError
        ``path`` is a file other than a report page, or holds files no study wrote and
        ``force`` is False, or a file the report would replace was not written by a study.
    NotADirectoryError, PermissionError
        ``path`` is under a file, or cannot be written.
    """
    target = report_target(path, force=force)
    with staged_report(target, force=force) as (folder, page_path):
        _write(studies, folder, page_path, title=title, descriptions=descriptions,
               href=target.href)
    return target.page


def _write(studies, folder, page_path, *, title, descriptions, href):
    """The report's files, written into ``folder`` and ``page_path`` (a staging place)."""
    import pandas as pd

    import skreg

    if not isinstance(studies, dict):
        studies = {"": studies}
    descriptions = descriptions or {}
    sections, frames = [], []
    for index, (name, study) in enumerate(studies.items(), start=1):
        sections.append(_study_html(study, index, name, descriptions.get(name), folder))
        frame = study.results_.assign(study=name or "study")
        frame["params"] = frame["params"].map(describe)
        frames.append(frame)
    pd.concat(frames).to_csv(folder / "results.csv", index=False)
    # A page beside its folder: every relative link (figures, results.csv) points into it.
    base = f'<base href="{escape(href)}">' if href else ""
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{base}<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        '<p class="meta">Which regularizer helps on this data, and by how much: each one '
        "swept on its own from the unregularized baseline, scored by cross-validation. "
        'All scores: <a href="results.csv">results.csv</a>.</p>'
        + "\n".join(sections)
        + f"<footer>skreg {escape(skreg.__version__)} · compare_regularizers · "
        f"{time.strftime('%Y-%m-%d %H:%M')}</footer></main></body></html>\n"
    )
    page_path.write_text(page, encoding="utf-8")
