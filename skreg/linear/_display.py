"""RegularizationPathDisplay: coefficient path and cross-validated score against alpha."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted, validate_data

from skreg.linear._cv_base import ElasticNetCVMixin, choose_alpha, standard_error
from skreg.linear._path import enet_path
from skreg.utils._sklearn_private import check_matplotlib_support


class RegularizationPathDisplay:
    """Coefficient path and cross-validated score of an Elastic Net CV estimator.

    Read more in the :ref:`User Guide <linear-cv>`.

    Two panels sharing a logarithmic alpha axis: left, every weight along the path fitted
    on all the data; right, the mean held-out score over folds with a band of one standard
    error (``std(ddof=1) / sqrt(n_folds)``, the spread the ``"1se"`` rule uses). Vertical
    lines mark the alphas chosen by the ``"min"`` (dashed) and ``"1se"`` (dotted) rules.
    Build it with :meth:`from_estimator`; follows scikit-learn's ``*Display`` convention.

    Parameters
    ----------
    alphas : ndarray of shape (n_alphas,)
        The alphas, decreasing.

    coefs : ndarray of shape (n_coefs, n_alphas)
        Weights along the path (one row per feature, and per class for a multinomial model).

    mean_scores, score_errors : ndarray of shape (n_alphas,)
        Mean held-out score over folds and its standard error.

    alpha_min, alpha_1se : float
        The alphas chosen by the two rules.

    coef_names : list of str, default=None
        Names of the rows of ``coefs``, for the legend.

    score_name : str, default="score"
        Label of the score axis.

    l1_ratio : float, default=None
        The l1_ratio of the path, shown in the titles.

    Attributes
    ----------
    coef_lines_ : list of matplotlib Line2D
        One line per row of ``coefs``.

    score_line_ : matplotlib Line2D
        The mean score.

    score_band_ : matplotlib PolyCollection
        Mean score plus or minus one standard error.

    alpha_min_lines_, alpha_1se_lines_ : list of matplotlib Line2D
        The vertical marks on each panel.

    ax_ : ndarray of two matplotlib Axes
        The coefficient panel and the score panel.

    figure_ : matplotlib Figure
        The figure holding them.

    See Also
    --------
    ElasticNetRegressorCV, ElasticNetClassifierCV : The estimators it draws.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg import ElasticNetRegressorCV, RegularizationPathDisplay
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = ElasticNetRegressorCV(l1_ratio=1.0, alphas=30).fit(X, y)
    >>> display = RegularizationPathDisplay.from_estimator(model, X, y)
    >>> len(display.coef_lines_)
    10
    """

    def __init__(self, *, alphas, coefs, mean_scores, score_errors, alpha_min, alpha_1se,
                 coef_names=None, score_name="score", l1_ratio=None):
        self.alphas = alphas
        self.coefs = coefs
        self.mean_scores = mean_scores
        self.score_errors = score_errors
        self.alpha_min = alpha_min
        self.alpha_1se = alpha_1se
        self.coef_names = coef_names
        self.score_name = score_name
        self.l1_ratio = l1_ratio

    @classmethod
    def from_estimator(cls, estimator, X, y, *, l1_ratio=None, sample_weight=None, ax=None,
                       coef_names=None):
        """Draw the path and scores of a fitted Elastic Net CV estimator.

        Parameters
        ----------
        estimator : ElasticNetRegressorCV or ElasticNetClassifierCV
            Fitted CV estimator; its scores per fold give the right panel.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data the estimator was fitted on; the path of the left panel is refitted
            on them, on the estimator's alpha grid.

        y : array-like of shape (n_samples,)
            The targets it was fitted on.

        l1_ratio : float, default=None
            Which of the searched l1_ratios to draw; ``None`` draws ``l1_ratio_``.

        sample_weight : array-like of shape (n_samples,), default=None
            The sample weights it was fitted with.

        ax : array-like of two matplotlib Axes, default=None
            Where to draw the two panels; ``None`` makes a new figure.

        coef_names : list of str, default=None
            Legend names of the weights; ``None`` uses ``feature_names_in_`` when the
            estimator has it (with the class appended for a multinomial model).

        Returns
        -------
        display : RegularizationPathDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        if not isinstance(estimator, ElasticNetCVMixin):
            raise TypeError(
                f"{cls.__name__}.from_estimator needs an ElasticNetRegressorCV or "
                f"ElasticNetClassifierCV (its cross-validated scores draw the right panel); "
                f"got {type(estimator).__name__}. For the coefficient path of a model without "
                "cross-validation, compute it with skreg.enet_path(X, y) and plot its coefs "
                "against its alphas."
            )
        check_is_fitted(estimator, ["cv_scores_", "l1_ratios_"])
        # The same data as the fit: scikit-learn's checks of the feature count and names.
        validate_data(estimator, X, reset=False, skip_check_array=True)
        l1_ratio = estimator.l1_ratio_ if l1_ratio is None else l1_ratio
        matches = np.flatnonzero(np.isclose(estimator.l1_ratios_, l1_ratio))
        if matches.size == 0:
            raise ValueError(
                f"l1_ratio={l1_ratio} was not searched; the estimator tried "
                f"{estimator.l1_ratios_.tolist()}."
            )
        row = matches[0]
        alphas = np.atleast_2d(estimator.alphas_)
        alphas = alphas[row if alphas.shape[0] > 1 else 0]
        scores = estimator.cv_scores_[row : row + 1]
        _, i_min = choose_alpha(scores, "min")
        _, i_1se = choose_alpha(scores, "1se")
        classifier = is_classifier(estimator)
        _, coefs, _ = enet_path(
            X, y, loss="log_loss" if classifier else "squared_error",
            l1_ratio=float(estimator.l1_ratios_[row]), alphas=alphas,
            sample_weight=sample_weight, fit_intercept=estimator.fit_intercept,
            tol=estimator.tol, max_iter=estimator.max_iter,
        )
        if coef_names is None and hasattr(estimator, "feature_names_in_"):
            coef_names = list(estimator.feature_names_in_)
            if coefs.ndim == 3 and coefs.shape[0] > 1:
                coef_names = [f"{name} ({label})" for label in estimator.classes_
                              for name in coef_names]
        if estimator.scoring is None:
            score_name = "-log-loss" if classifier else "-mean squared error"
        else:
            score_name = str(getattr(estimator.scoring, "__name__", estimator.scoring))
        display = cls(
            alphas=alphas, coefs=coefs.reshape(-1, len(alphas)),
            mean_scores=scores[0].mean(axis=1), score_errors=standard_error(scores[0]),
            alpha_min=alphas[i_min], alpha_1se=alphas[i_1se], coef_names=coef_names,
            score_name=score_name, l1_ratio=float(estimator.l1_ratios_[row]),
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the two panels.

        Parameters
        ----------
        ax : array-like of two matplotlib Axes, default=None
            Where to draw the coefficient path and the scores; ``None`` makes a new figure.

        Returns
        -------
        display : RegularizationPathDisplay
            This object, with the drawn artists stored.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(11, 4.2))
        ax = np.asarray(ax, dtype=object).ravel()
        if ax.size != 2:
            raise ValueError(f"ax must hold 2 Axes (path, scores); got {ax.size}.")
        path_ax, score_ax = ax
        names = self.coef_names or [f"w[{j}]" for j in range(len(self.coefs))]
        self.coef_lines_ = [
            path_ax.plot(self.alphas, coef, label=name)[0]
            for coef, name in zip(self.coefs, names, strict=True)
        ]
        path_ax.axhline(0.0, color="black", linewidth=0.5)
        if len(self.coef_lines_) <= 12:  # beyond that a legend hides the lines
            path_ax.legend(handles=self.coef_lines_, loc="best", fontsize="x-small")
        path_ax.set_ylabel("coefficient")
        self.score_line_ = score_ax.plot(self.alphas, self.mean_scores, color="tab:red",
                                         label="mean over folds")[0]
        self.score_band_ = score_ax.fill_between(
            self.alphas, self.mean_scores - self.score_errors,
            self.mean_scores + self.score_errors, color="tab:red", alpha=0.2,
            label="± 1 standard error",
        )
        score_ax.set_ylabel(f"held-out {self.score_name}")
        self.alpha_min_lines_, self.alpha_1se_lines_ = [], []
        for panel in (path_ax, score_ax):
            self.alpha_min_lines_.append(panel.axvline(
                self.alpha_min, color="black", linestyle="--",
                label=f"min: alpha={self.alpha_min:.3g}"))
            self.alpha_1se_lines_.append(panel.axvline(
                self.alpha_1se, color="grey", linestyle=":",
                label=f"1se: alpha={self.alpha_1se:.3g}"))
            panel.set_xscale("log")
            panel.set_xlabel("alpha")
        suffix = "" if self.l1_ratio is None else f" (l1_ratio={self.l1_ratio:g})"
        path_ax.set_title("coefficient path" + suffix)
        score_ax.set_title("cross-validated score" + suffix)
        score_ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = path_ax.figure
        return self
