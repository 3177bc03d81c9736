"""Cells of the bad-input matrix for numbers, the path display and scikit-learn's private API.

Loaded by ``_robustness.py`` from the same folder (by path, as the audit loads that file), and
given its helpers, so that the cells can audit an older skreg too. Scales are powers of two,
which change no digit: the right answer on scaled data is the answer on the data.
"""

import warnings

import numpy as np
from sklearn.base import clone

# numpy's own "overflow encountered in matmul" warnings name no cause and no remedy: they
# are not a clear warning here, whatever words they contain.
NOT_NUMPY = r"^(?!.*encountered in)"
BIG = 2.0**66  # ~7.4e19: float32 squares overflow
TINY = 2.0**-500  # ~3e-151: scikit-learn's alpha grid floors at 1e-15


def number_cases(h):
    """``{case name: (applies, run)}``; ``h`` holds ``_robustness``'s helpers."""

    def nearest_code_problem(estimator, X):
        """For a one-codebook quantizer: rows whose code is not their nearest (float64,
        rescaled so that no square overflows); None for other estimators.
        """
        codebook = getattr(estimator, "codebook_", None)
        if codebook is None or codebook.ndim != 2 or codebook.shape[1] != X.shape[1]:
            return None
        labels = np.asarray(estimator.predict(X))
        # predict searches the codebook in X's float type
        codes = codebook.astype(X.dtype).astype(np.float64)
        rows = X.astype(np.float64)
        top = max(np.abs(rows).max(), np.abs(codes).max(), 1e-300)
        scale = 2.0 ** -np.ceil(np.log2(top))
        distances = (((rows * scale)[:, None, :] - (codes * scale)[None]) ** 2).sum(axis=2)
        wrong = int(np.sum(distances[np.arange(len(rows)), labels] > distances.min(axis=1)))
        return f"{wrong} of {len(rows)} rows given a code that is not their nearest" if wrong \
            else None

    def output_problem(estimator, X, y):
        return nearest_code_problem(estimator, X) or h.problem_with_output(estimator, X, y)

    def score_problem(fitted, X_scaled, X, y):
        """A CV estimator chooses its own alpha: on scaled features it must score as on the
        features themselves (a constant model passes ``problem_with_output``).
        """
        if not is_cv(fitted):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = h.fit(clone(fitted), X, y).score(X, y)
        score = fitted.score(X_scaled, y)
        if not score >= reference - 0.1:
            return f"score {score:.2f} on the scaled features, {reference:.2f} on the features"
        return None

    def scaled_fit(scale, dtype):
        def run(estimator, X, y):
            X_bad = (X * scale).astype(dtype)

            def check(fitted):
                try:
                    return output_problem(fitted, X_bad, y) or score_problem(
                        fitted, X_bad, X, y)
                except Exception as exc:  # noqa: BLE001
                    return f"predicting after the fit fails: {type(exc).__name__}: {exc}"[:160]

            return h.run(lambda: h.fit(estimator, X_bad, y), h.magnitude,
                         NOT_NUMPY + f".*(?:{h.magnitude})", check)

        return None, run

    def float32_huge_at_predict(estimator, X, y):
        X32 = X.astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h.fit(estimator, X32, y)
        X_bad = (X * BIG).astype(np.float32)

        def check(output):
            output = np.asarray(output)
            if output.dtype.kind in "fc" and not np.all(np.isfinite(output)):
                return "non-finite output"
            return nearest_code_problem(estimator, X_bad)

        return h.run(lambda: h.output(estimator, X_bad), h.magnitude, check=check)

    def is_cv(estimator):
        return "cv" in estimator.get_params(deep=False) and "l1_ratio" in estimator.get_params(
            deep=False)

    def is_plain_linear(estimator):
        params = estimator.get_params(deep=False)
        return "l1_ratio" in params and "cv" not in params

    def display(X_for_display):
        def run(estimator, X, y):
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from skreg import RegularizationPathDisplay

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                h.fit(estimator, X, y)

            def draw():
                try:
                    return RegularizationPathDisplay.from_estimator(
                        estimator, X_for_display(X), y)
                finally:
                    plt.close("all")

            errors = r"X has \d+ features, but .* expecting \d+ features" if is_cv(estimator) \
                else r"needs an ElasticNet\w*CV.*enet_path"
            return h.run(draw, errors, check=lambda _: "drew without complaint")

        return run

    def public_fallback(estimator, X, y):
        """Fit on scikit-learn's private solvers and on the public fallback: same model."""
        from skreg.utils import _sklearn_private

        outputs = []
        saved = _sklearn_private.PRIVATE_SOLVERS
        try:
            for private in (True, False):
                _sklearn_private.PRIVATE_SOLVERS = private
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    h.fit(estimator.set_params(tol=1e-8), X, y)
                outputs.append(np.asarray(h.output(estimator, X)))
        finally:
            _sklearn_private.PRIVATE_SOLVERS = saved
        if not np.allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-6):
            return h.Outcome("silently wrong", "the public fallback gives another model")
        return h.Outcome("correct", "the public fallback gives the same model")

    def has_fallback(estimator):
        try:
            from skreg.utils import _sklearn_private  # noqa: F401
        except ImportError:  # an older skreg
            return False
        return "l1_ratio" in estimator.get_params(deep=False)

    return {
        "float32 X beyond 1e19": scaled_fit(BIG, np.float32),
        "tiny X (1e-150)": scaled_fit(TINY, np.float64),
        "float32 X beyond 1e19 at predict": (None, float32_huge_at_predict),
        "path display on fewer features": (is_cv, display(lambda X: X[:, :-1])),
        "path display of a model without CV": (is_plain_linear, display(lambda X: X)),
        "public scikit-learn fallback": (has_fallback, public_fallback),
    }
