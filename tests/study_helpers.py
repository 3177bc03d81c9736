"""What a study shows, for the tests of its search schemes (not a test module)."""


def legend_and_report(study, folder):
    """The legend labels of the study's first validation curve, and its HTML report's text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    display = study.plot()
    try:
        labels = display.axes_.flat[0].get_legend_handles_labels()[1]
    finally:
        plt.close(display.figure_)
    study.to_html(folder / "report")
    return labels, (folder / "report" / "index.html").read_text(encoding="utf-8")


# The Lasso's strengths (one is clearly right: 3 effects among 100 features, 300 rows) and
# ridge's (all far too strong: they shrink the 3 effects away).
SPARSE_REGULARIZERS = {"L1 (lasso)": [0.01, 0.1, 0.3, 1.0], "L2 (ridge)": [30.0, 100.0, 300.0]}


def sparse_regression():
    """300 rows, 100 features, 3 of them with an effect: the Lasso helps, a strong ridge
    hurts."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 100))
    coef = np.zeros(100)
    coef[:3] = 3.0
    return X, X @ coef + 3.0 * rng.normal(size=300)
