"""Beside the spec, for `grade validate`: whether an exercise's `packages` can work here.

The sandbox exposes exactly the listed packages to a submission, nothing else of
site-packages: a package that is not installed cannot be given, and a listed package whose
own dependencies are not listed fails when the submission imports it (scipy imports numpy).
This module finds both from the installed distributions' metadata, without importing any
package; it is imported by `validate` alone, so its cost stays off the grading path.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence

#: Import names whose distribution is named otherwise: what to pip install.
_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "cv2": "opencv-python",
}

_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_EXTRA = re.compile(r"\bextra\s*==")


def _normalized(distribution: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _installed(name: str) -> bool:
    import importlib.util

    if not name.isidentifier():
        return False  # a dotted name would import its parent to be found
    try:
        return importlib.util.find_spec(name) is not None  # a top-level name: imports nothing
    except (ImportError, ValueError):
        return False


def _distribution_installed(distribution: str) -> bool:
    import importlib.metadata

    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _applies(marker: str) -> bool:
    """Whether a requirement's environment marker holds here; extras never do (they are
    installed on request), and a marker that cannot be evaluated is taken to hold."""
    if _EXTRA.search(marker):
        return False
    try:
        from packaging.markers import InvalidMarker, Marker
    except ImportError:
        return True
    try:
        return Marker(marker).evaluate()
    except InvalidMarker:
        return True


def _requirements(distribution: str) -> list[str]:
    """The distributions one installed distribution needs here, by name."""
    import importlib.metadata

    try:
        declared = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    names = []
    for requirement in declared:
        spec, _, marker = requirement.partition(";")
        found = _REQUIREMENT_NAME.match(spec)
        if found is not None and (not marker.strip() or _applies(marker)):
            names.append(found.group(1))
    return names


def _import_names(provides: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Normalized distribution name -> the public top-level names it installs."""
    names: dict[str, list[str]] = {}
    for module, distributions in provides.items():
        if module.isidentifier() and not module.startswith("_"):
            for distribution in distributions:
                listed = names.setdefault(_normalized(distribution), [])
                if module not in listed:
                    listed.append(module)
    return names


def _needed(distribution: str, modules: Sequence[str]) -> list[str]:
    """What to list for a required distribution: the import name named like it, else all."""
    wanted = _normalized(distribution).replace("-", "_")
    same = [m for m in modules if m.lower() == wanted]
    return same or sorted(modules)


def package_problems(packages: Sequence[str]) -> list[str]:
    """One sentence per problem with an exercise's `packages` on this machine: a package
    that is not installed, and a package that another listed one needs but that is not
    listed (followed through the packages it leads to, so one run names them all)."""
    import importlib.metadata

    problems: list[str] = []
    listed = list(dict.fromkeys(packages))
    missing = [name for name in listed if not _installed(name)]
    for name in listed:
        if name in sys.stdlib_module_names:
            problems.append(
                f"{name} is part of Python's standard library, which is always available: "
                "remove it from packages"
            )
        elif name in missing:
            pip = _DISTRIBUTIONS.get(name, name)
            problems.append(
                f"{name} is not installed in this environment; pip install {pip}, "
                "or remove it from packages"
            )
    provides = importlib.metadata.packages_distributions()
    modules = _import_names(provides)
    known = set(listed)
    reported: set[str] = set()
    queue = [name for name in listed if name not in missing]
    while queue:
        name = queue.pop(0)
        for distribution in dict.fromkeys(provides.get(name, ())):
            for required in _requirements(distribution):
                if _normalized(required) in reported:
                    continue
                offered = modules.get(_normalized(required))
                if offered is None:
                    if _distribution_installed(required):
                        continue  # installed, with no package of its own to import
                    reported.add(_normalized(required))
                    problems.append(
                        f"{name} needs {required}, which is not installed in this "
                        f"environment; pip install {required}"
                    )
                    continue
                if known.intersection(offered):
                    continue
                reported.add(_normalized(required))
                for module in _needed(required, offered):
                    known.add(module)
                    queue.append(module)
                    problems.append(f"{name} needs {module}: add {module} to packages")
    return problems
