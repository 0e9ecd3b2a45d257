"""Import support for reading Hummingbot's config classes without its dependencies.

Hummingbot's config modules import exchange SDKs, web3, aiohttp, Cython
extensions and more. None of that matters for the field declarations we
read, so every module that is neither in the standard library, nor in the
small allow list below, nor a plain .py file of the Hummingbot tree is
replaced by a permissive placeholder module whose attributes are
placeholder classes.
"""

import abc
import importlib.abc
import importlib.machinery
import os
import sys
import types

# Packages that must be the real thing: the models are pydantic models.
REAL = {"pydantic", "pydantic_core", "typing_extensions", "annotated_types", "yaml", "tabulate", "Crypto"}
# Top-level packages that live in the Hummingbot tree.
TREE = {"hummingbot", "scripts", "controllers"}


class _PlaceholderMeta(abc.ABCMeta):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder

    def __getitem__(cls, key):
        return Placeholder

    def _any(cls, *args):
        return Placeholder

    __or__ = __ror__ = __mul__ = __rmul__ = __add__ = __radd__ = _any
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = _any


class Placeholder(metaclass=_PlaceholderMeta):
    """Stands for any class or value of a module that is not installed."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        from pydantic_core import core_schema
        return core_schema.any_schema()

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return Placeholder()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder()


class PlaceholderModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        # A fresh subclass per name, so that a class may derive from two of them.
        cls = _PlaceholderMeta(name, (Placeholder,), {})
        setattr(self, name, cls)
        return cls


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, root):
        self.root = root

    def find_spec(self, name, path, target=None):
        top = name.split(".")[0]
        if top in TREE:
            base = os.path.join(self.root, *name.split("."))
            if os.path.exists(base + ".py") or os.path.isdir(base):
                return None  # the real source
            # a Cython extension (.pyx) or a generated module: not built here
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        if top in REAL or top in sys.stdlib_module_names:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec):
        m = PlaceholderModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def install(root):
    """Make Hummingbot's tree at root importable, with placeholders for the rest."""
    sys.path.insert(0, root)
    sys.meta_path.append(_Finder(root))
