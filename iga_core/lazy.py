"""Packages that export their submodules' names but load a submodule only when one of its names is used.

A command that needs one small module of a package (the CLI's `inspect` needs `iga_core.recipe.model`,
`iga check --help` needs the guard's `MODES`) must not pay for the whole package: importing any submodule
runs its package's `__init__` first, so an `__init__` that imports everything makes every submodule cost
as much as all of them (numpy through the schedules, jsonschema through the validator). A package's
`__init__` calls `lazy_exports(__name__, {"iga_core.recipe.model": ("Recipe", ...), ...})` instead of
importing: `from iga_core.recipe import Recipe` then imports `iga_core.recipe.model` at that moment, once,
and the name stays bound like an eager import's (PEP 562 module `__getattr__`).

One case an eager `__init__` handled by its order: an exported name that is also a submodule's name
(`iga_core.guard.judge` is the function and `iga_core/guard/judge.py` the module). The import system binds
a submodule as its package's attribute when it loads it, so loading `judge.py` later would shadow the
function; the package's `__setattr__` keeps the export bound instead, as the eager import left it.
`tests/test_cli_imports.py` checks that the CLI's light commands stay light.
"""

from __future__ import annotations

import sys
from types import ModuleType


class _LazyPackage(ModuleType):
    def __getattr__(self, name: str):  # called only for names not bound yet
        where = self.__dict__["_lazy_exports"].get(name)
        if where is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        __import__(where)  # the C import path, which `python -X importtime` reports (importlib's is not)
        value = getattr(sys.modules[where], name)
        ModuleType.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if isinstance(value, ModuleType) and name in exports and value.__name__ == f"{self.__name__}.{name}":
            value = getattr(value, name)  # the submodule `name` was loaded: keep its export `name` bound
        ModuleType.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__["_lazy_exports"]))


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]) -> list[str]:
    """Make `package` (its `__name__`) export each name of `modules` (submodule -> names), loading the
    submodule on first use. Returns the names, for the package's `__all__`."""
    exports = {name: module for module, names in modules.items() for name in names}
    mod = sys.modules[package]
    mod.__dict__["_lazy_exports"] = exports
    mod.__class__ = _LazyPackage
    return list(exports)
