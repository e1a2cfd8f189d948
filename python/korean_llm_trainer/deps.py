"""Lazy imports of the heavy libraries, with a message that says what is missing and where it belongs."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import MissingDependencyError

IMAGE_HINT = "it belongs in the trainer image (python/requirements.txt, built by python/Dockerfile)"


def is_available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, package: str | None = None, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip package.

    Only a missing module is translated; an import that fails for another reason (a broken
    CUDA install, an incompatible version) propagates with its own traceback.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = err.name or module
        if not (module == missing or module.startswith(missing + ".")):
            raise
        pkg = package or module.split(".")[0]
        why = f" (needed for {purpose})" if purpose else ""
        raise MissingDependencyError(
            f"python package '{pkg}' is not installed{why}; {IMAGE_HINT}"
        ) from err


def dtype_kwargs(transformers: ModuleType, dtype: object) -> dict[str, object]:
    """``from_pretrained`` keyword for the weight dtype: ``dtype`` since Transformers 4.56, ``torch_dtype`` before."""
    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}
