"""The regularization study: which regularizer helps on this data, and by how much.

:func:`compare_regularizers` cross-validates each regularizer of an estimator against the
unregularized baseline and returns a :class:`RegularizationStudy` (a results table, validation
curves, an HTML report). ``python -m skreg.study DATA.csv --target COLUMN`` runs it on a CSV file.
"""

from skreg.study._plot import StudyDisplay
from skreg.study._report import write_report
from skreg.study._result import RegularizationStudy
from skreg.study._study import compare_regularizers

__all__ = ["RegularizationStudy", "StudyDisplay", "compare_regularizers", "write_report"]
