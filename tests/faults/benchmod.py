"""The benchmark scripts in bench/ as modules, for tests that reuse their generators."""

import importlib.util
import sys
from types import ModuleType

from ..conftest import REPO


def load(name: str) -> ModuleType:
    """``bench/<name>.py``, imported once as ``bench_<name>``."""
    key = f"bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
