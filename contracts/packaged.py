"""Contract sources shipped inside the package (``contracts.system``, ``contracts.examples``)."""

from __future__ import annotations

from importlib import resources


def packaged_source(package: str, names: tuple[str, ...], name: str, what: str) -> str:
    """The source text of contract ``name`` in ``package``; a KeyError names the known ones."""
    if name not in names:
        raise KeyError(f"no {what} contract {name!r}; known: {', '.join(names)}")
    return resources.files(package).joinpath(f"{name}.py").read_text(encoding="utf-8")
