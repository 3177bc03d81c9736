"""The regularization study behind ``make demo``, on data that ships with scikit-learn.

Run with ``python -m skreg.demo`` (``--quick`` for a smaller, faster run). It runs
:func:`skreg.compare_regularizers` on three data sets: digits for the neural nets (with clean
labels and with 30% of them flipped), diabetes for the linear models, and the pixels of
china.jpg for the VectorQuantizer's codebook size. It prints each study's headline table and
writes the HTML report (``report/index.html``: validation curves, what each technique does).
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_diabetes, load_digits, load_sample_image
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    ElasticNetRegressor,
    RegularizedNetClassifier,
    VectorQuantizer,
    compare_regularizers,
)
from skreg.study import write_report
from skreg.study._cli import headline
from skreg.study._files import report_target

NOISE = 0.3


def flip_labels(y, fraction, random_state):
    """``y`` with ``fraction`` of the labels replaced by a class drawn uniformly (maybe itself)."""
    rng = np.random.default_rng(random_state)
    flipped = y.copy()
    flip = rng.random(len(y)) < fraction
    flipped[flip] = rng.integers(0, y.max() + 1, flip.sum())
    return flipped


def digits_studies(quick, n_jobs):
    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[::6], y[::6]
    net = make_pipeline(
        StandardScaler(),
        RegularizedNetClassifier((100,), max_iter=8 if quick else 40, random_state=0),
    )
    descriptions = {
        "Neural net on digits": f"load_digits: {len(y)} images of 8×8 pixels, 10 classes.",
        f"Neural net on digits, {NOISE:.0%} of the labels flipped": (
            f"The same images, {NOISE:.0%} of the labels replaced by a random class, in training "
            "and test folds alike: the scores are against noisy labels (with symmetric noise "
            "they are an affine function of the clean accuracy, so the ranking carries over)."
        ),
    }
    studies = {}
    for title, labels in zip(descriptions, (y, flip_labels(y, NOISE, 0)), strict=True):
        studies[title] = compare_regularizers(
            net, X, labels, cv=2 if quick else 3, n_jobs=n_jobs, random_state=0, quick=quick
        )
    return studies, descriptions


def diabetes_study(quick, n_jobs):
    X, y = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), ElasticNetRegressor())
    title = "Linear models on diabetes"
    study = compare_regularizers(model, X, y, cv=5, n_jobs=n_jobs, random_state=0, quick=quick)
    return {title: study}, {title: "load_diabetes: 442 patients, 10 standardized features, "
                                   "disease progression after one year."}


def china_study(quick, n_jobs):
    image = load_sample_image("china.jpg")
    pixels = image.reshape(-1, 3).astype(np.float32) / 255
    pixels = pixels[:: 80 if quick else 20]
    title = "Colour quantization of china.jpg"
    study = compare_regularizers(
        VectorQuantizer(16, random_state=0), pixels, cv=3, n_jobs=n_jobs, random_state=0,
        quick=quick,
    )
    return {title: study}, {title: (
        f"{len(pixels)} RGB pixels of load_sample_image('china.jpg') in [0, 1]; each pixel is "
        "replaced by the nearest of n_codes colours (log2(n_codes) bits instead of 24).")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    parser.add_argument("--out", default="report",
                        help="report folder, or a page name ending in .html (default: report)")
    parser.add_argument("--force", action="store_true",
                        help="write the report into a folder that holds other files (kept)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel fits (default: -1)")
    args = parser.parse_args(argv)
    try:  # before the studies: none is run for a report that cannot be written
        report_target(args.out, force=args.force, force_option="--force")
    except OSError as exc:
        parser.error(str(exc))
    start = time.perf_counter()
    studies, descriptions = {}, {}
    for run in (digits_studies, diabetes_study, china_study):
        more, text = run(args.quick, args.n_jobs)
        studies.update(more)
        descriptions.update(text)
    index = write_report(studies, args.out, title="skreg: regularization study on bundled data",
                         descriptions=descriptions, force=args.force)
    for title, study in studies.items():
        print(f"\n== {title} ({study.scoring_}, {study.describe_cv()})")
        print(headline(study))
    print(f"\nreport: {index.resolve()}")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
