"""Where a report goes, and writing it without losing a file.

A report is a page and the files it links: one PNG per regularizer and ``results.csv``. Its
target is either a folder (``report/index.html`` with the files beside it) or a page name
ending in ``.html`` (``study.html`` with the folder ``study_files/`` next to it, the way a
browser saves a page).

- A study lists the files it wrote in a manifest (``.skreg-report.json``) in the folder. A
  folder holding anything else is refused, unless forced; even forced, a file that no study
  wrote is never replaced nor deleted.
- The target is checked (not a file, not under a file, writable) by :func:`report_target`,
  which the command line calls before the first fit.
- The report is written into a temporary folder beside its place and moved in at the end
  with :func:`os.replace` (a rename within one file system), Ctrl-C held back for those few
  renames: an interrupt leaves the previous report or the new one, each whole.
"""

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from skreg.utils._interrupts import sigint_deferred

MANIFEST = ".skreg-report.json"
_STAGING = ".skreg-tmp-"
# Written into any folder by the desktop when it is browsed: not the user's data.
_DESKTOP_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
# The files of a report written before the manifest existed (skreg 0.x), recognised by name.
_UNLISTED_REPORT = re.compile(r"index\.html|results\.csv|study\d+-[a-z0-9-]+\.png")
_FOOTER = "compare_regularizers"


@dataclass(frozen=True)
class ReportTarget:
    """The page of a report and the folder of its figures, ``results.csv`` and manifest."""

    page: Path
    folder: Path

    @property
    def single_page(self):
        """True for a ``.html`` target: the page sits beside its folder, not in it."""
        return self.page.parent != self.folder

    @property
    def href(self):
        """Prefix of the page's links to the files of the folder."""
        return quote(self.folder.name) + "/" if self.single_page else ""


def _owned(target):
    """Names in ``target.folder`` that a study wrote, and whether ``target.page`` is one."""
    folder = target.folder
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        # Plain names only: an edited manifest must not point outside the folder.
        files = {name for name in manifest["files"] if isinstance(name, str)
                 and name == Path(name).name and name not in ("", ".", "..")}
        page = manifest.get("page")
    except (OSError, ValueError, KeyError, TypeError):
        files, page = set(), None
        index = folder / "index.html"
        try:  # a report from before the manifest: its page names compare_regularizers
            unlisted = index.is_file() and _FOOTER in index.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            unlisted = False
        if unlisted:
            files = {p.name for p in folder.iterdir()
                     if p.is_file() and _UNLISTED_REPORT.fullmatch(p.name)}
    return files, page == target.page.name


def _foreign(target):
    """Paths of the target that no study wrote (sorted), the page included."""
    owned, page_owned = _owned(target)
    foreign = []
    if target.folder.is_dir():
        foreign = sorted(
            p for p in target.folder.iterdir()
            if (p.name not in owned or p.is_dir()) and p.name != MANIFEST
            and p.name not in _DESKTOP_FILES
            and not p.name.startswith(_STAGING)
        )
    if target.single_page and target.page.exists() and not page_owned:
        foreign.insert(0, target.page)
    return foreign


def _names(paths, limit=5):
    shown = ", ".join(p.name + ("/" if p.is_dir() else "") for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _nearest_existing(path):
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable(path, shown):
    """``path`` (or the folder it will be created in) is a folder we can create files in."""
    existing = _nearest_existing(path.resolve())
    if not existing.is_dir():
        raise NotADirectoryError(f"cannot write the report {shown}: {existing} is a file, "
                                 "so nothing can be created under it")
    try:  # a real file: os.access misses read-only mounts, ACLs, and is always true for root
        with tempfile.TemporaryFile(dir=existing, prefix=_STAGING):
            pass
    except OSError as exc:
        raise PermissionError(f"cannot write the report {shown}: {existing} is not "
                              f"writable ({exc.strerror})") from None


def report_target(path, *, force=False, force_option="force=True"):
    """Check where a report would go, before any work, and return its :class:`ReportTarget`.

    Parameters
    ----------
    path : str or path-like
        A folder, or a page name ending in ``.html`` (its figures go to ``NAME_files/``).
    force : bool, default=False
        Accept a folder that holds files no study wrote (they are kept, never replaced).
    force_option : str, default="force=True"
        How the error messages name ``force`` (the command line says ``--force``).

    Returns
    -------
    target : ReportTarget

    Raises
    ------
    FileExistsError
        The path is a file that is not a report page, or the folder holds files that no study
        wrote (and ``force`` is False).
    NotADirectoryError
        The path is under a file.
    PermissionError
        The folder cannot be written.
    """
    path = Path(path).expanduser()
    shown = str(path)
    if path.suffix.lower() in (".html", ".htm"):
        target = ReportTarget(page=path, folder=path.with_name(path.stem + "_files"))
        if path.is_dir():
            raise FileExistsError(f"cannot write the report page {shown}: it is a folder")
    else:
        target = ReportTarget(page=path / "index.html", folder=path)
        if path.exists() and not path.is_dir():
            raise FileExistsError(
                f"cannot write the report folder {shown}: it is a file (give a folder, or a "
                "name ending in .html for a page with its figures in a folder beside it)")
    if target.folder.exists() and not target.folder.is_dir():
        raise FileExistsError(f"cannot write the report's figures to {target.folder}: "
                              "it is a file")
    _check_writable(target.folder, shown)
    if target.single_page:  # the page is replaced beside the folder
        _check_writable(target.page.parent, shown)
    foreign = _foreign(target)
    clash = [p for p in foreign if p == target.page or _UNLISTED_REPORT.fullmatch(p.name)]
    if clash:
        raise FileExistsError(
            f"cannot write the report {shown}: {_names(clash)} would be replaced, and no skreg "
            "study wrote it: move it away or choose another report path")
    if foreign and not force:
        raise FileExistsError(
            f"{target.folder if target.folder.is_dir() else shown} holds files that no "
            f"skreg study wrote ({_names(foreign)}): choose another report path, or pass "
            f"{force_option} to write beside them (they are kept)")
    return target


def _commit(target, staging, force):
    """Move the staged report into place: the old one's files out, the new ones in."""
    new = sorted(p.name for p in staging.iterdir() if p.name != MANIFEST)
    foreign = _foreign(target)  # again: the folder may have changed during the study
    clash = [p for p in foreign if p.name in new or p == target.page]
    if clash or (foreign and not force):
        raise FileExistsError(
            f"{target.folder} now holds files that no skreg study wrote "
            f"({_names(clash or foreign)})"
            + (": they are not replaced, even when forced" if clash else ""))
    manifest = {"written_by": "skreg.study", "files": new,
                "page": target.page.name if target.single_page else None}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    page = staging.parent / target.page.name if target.single_page else None
    with sigint_deferred():  # a few renames: Ctrl-C waits for them, then is raised
        if not target.folder.exists():
            os.replace(staging, target.folder)
        else:
            old, _ = _owned(target)
            for name in sorted(old - set(new)):
                if not (target.folder / name).is_dir():
                    (target.folder / name).unlink(missing_ok=True)
            # The page after its figures, the manifest last: it lists what is there.
            for name in sorted(new, key=lambda name: name == "index.html") + [MANIFEST]:
                os.replace(staging / name, target.folder / name)
        if page is not None:
            os.replace(page, target.page)


@contextmanager
def staged_report(target, *, force=False):
    """Yield ``(folder, page)`` to write the report into, then move it into place.

    The staging folder is created beside the target (inside the report folder when it exists,
    so that the moves are renames on one file system) and removed on every exit path; folders
    created for the target are removed too when the report is not written. Creating and
    removing them holds Ctrl-C back, so that an interrupt leaves no staging folder behind.
    """
    created, root = [], None
    try:
        with sigint_deferred():
            for folder in reversed([target.folder.parent, *target.folder.parent.parents]):
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            root = Path(tempfile.mkdtemp(prefix=_STAGING, dir=target.folder
                                         if target.folder.is_dir() else target.folder.parent))
        staging = root / "files"
        staging.mkdir()
        yield staging, (root / target.page.name if target.single_page
                        else staging / target.page.name)
        _commit(target, staging, force)
    except BaseException:
        with sigint_deferred():
            if root is not None:
                shutil.rmtree(root, ignore_errors=True)
            for folder in reversed(created):
                if folder.exists() and not any(folder.iterdir()):
                    folder.rmdir()
        raise
    with sigint_deferred():
        shutil.rmtree(root, ignore_errors=True)
