"""Link each estimator's HTML representation to its page of the API reference."""

from skreg import __version__

# Root of the published documentation (Read the Docs, built from .readthedocs.yaml), one folder
# per version; the one place to change if the site moves.
DOC_ROOT = "https://skreg.readthedocs.io/en/"


def doc_version(version):
    """Folder of ``version``'s documentation under :data:`DOC_ROOT`.

    A release (``0.1.0``) is published under its tag's name; a development version
    (``0.2.0.dev0``, or a local ``+`` build) under ``latest``, the main branch's build.
    """
    return "latest" if ".dev" in version or "+" in version else version


# The documentation of the installed version: what ``make docs`` builds into docs/_build/html.
DOC_URL = f"{DOC_ROOT}{doc_version(__version__)}/"
# Path of a public object's page in that site, as written by docs/_ext/api_reference.py.
API_PAGE = "api/generated/skreg.{estimator_name}.html"


class DocLinkMixin:
    """Point scikit-learn's HTML repr ("?" icon of a displayed estimator) at skreg's docs.

    scikit-learn builds the link from ``_doc_link_module``, ``_doc_link_template`` and
    ``_doc_link_url_param_generator`` (``sklearn.utils._repr_html.base``). skreg documents
    every estimator under its public name ``skreg.<Name>``, so the page is found from the first
    class of the MRO that ``skreg`` exports, which also covers private subclasses.
    """

    _doc_link_module = "skreg"
    _doc_link_template = DOC_URL + API_PAGE

    def _doc_link_url_param_generator(self):
        import skreg

        for cls in type(self).__mro__:
            if getattr(skreg, cls.__name__, None) is cls:
                return {"estimator_name": cls.__name__}
        return {"estimator_name": type(self).__name__}
