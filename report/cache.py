"""A cache of expensive experiments (the `slow` and `gpu` tiers): a later run with the same key
re-checks and re-renders from the stored raw results instead of retraining.

The key is a sha256 over everything that can change the result:

- the source of the experiment's module and of every project module it reaches through its
  globals (a change to ``reproductions/optimizers.py`` invalidates the depth experiments that
  import it), and of any function passed as an argument;
- the arguments, made canonical: numbers by ``repr``, containers element by element, arrays and
  tensors by dtype, shape and the sha256 of their bytes, dataclasses and named tuples field by
  field;
- python, torch and numpy versions, the device the experiment runs on and torch's default dtype.

An entry is one file, ``<dir>/<experiment>/<key>.pkl``: a JSON header line (key, experiment,
sha256 of the payload, when and on which commit it was computed, its wall time), then the pickled
result. A file whose payload does not match its sha256, or that does not parse, is reported and
recomputed (and overwritten), never used. Caching is off with ``--no-cache`` (CI's regression run
sets it, so a torch upgrade is really re-measured). Like a benchopt or joblib cache, entries are
local files and trusted: do not load a cache directory from elsewhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import pickle
import platform
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any, Callable

from .results import utc_now

PROJECT_PACKAGES = ("reproductions",)
FORMAT = 1


def _project_module(obj: Any) -> types.ModuleType | None:
    """The project module that defines ``obj`` (a module, function or class), if any."""
    module = obj if isinstance(obj, types.ModuleType) else sys.modules.get(
        getattr(obj, "__module__", None) or "")
    name = getattr(module, "__name__", "")
    return module if name.split(".")[0] in PROJECT_PACKAGES else None


def reachable_modules(fn: Callable) -> list[types.ModuleType]:
    """The project modules ``fn``'s module reaches through module-level names, transitively."""
    start = _project_module(fn)
    seen: dict[str, types.ModuleType] = {}
    todo = [start] if start else []
    while todo:
        module = todo.pop()
        if module.__name__ in seen:
            continue
        seen[module.__name__] = module
        for value in vars(module).values():
            other = _project_module(value)
            if other is not None and other.__name__ not in seen:
                todo.append(other)
    return [seen[name] for name in sorted(seen)]


def source_hash(fn: Callable) -> str:
    """sha256 over the source files of the project modules ``fn`` reaches (or its own source
    when it lives outside the project, e.g. in a claim module)."""
    digest = hashlib.sha256()
    modules = reachable_modules(fn)
    for module in modules:
        digest.update(module.__name__.encode())
        digest.update(Path(module.__file__).read_bytes())
    if not modules:
        digest.update(inspect.getsource(fn).encode())
    return digest.hexdigest()


def canonical(value: Any) -> Any:
    """A JSON-able description of ``value`` that changes whenever the value does."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(value[k]) for k in sorted(value, key=str)}
    if hasattr(value, "_fields"):  # a named tuple
        return {type(value).__name__: {f: canonical(getattr(value, f)) for f in value._fields}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: {f.name: canonical(getattr(value, f.name))
                                       for f in dataclasses.fields(value)}}
    if type(value).__module__ == "torch" and type(value).__name__ in ("device", "dtype"):
        return str(value)
    if callable(value) and hasattr(value, "__qualname__"):
        return {"function": f"{value.__module__}.{value.__qualname__}",
                "source": source_hash(value)}
    array = _as_numpy(value)
    if array is not None:
        return {"array": str(array.dtype), "shape": list(array.shape),
                "sha256": hashlib.sha256(array.tobytes()).hexdigest()}
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return repr(value.item())  # numpy scalars
    raise TypeError(f"cannot make a cache key from a {type(value).__name__}; pass plain "
                    "numbers, containers, arrays, tensors, dataclasses or named tuples")


def _as_numpy(value: Any):
    import numpy as np
    if isinstance(value, np.ndarray):
        return np.ascontiguousarray(value)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().contiguous().numpy()
    return None


def _device_among(values) -> Any:
    """The first torch.device among an experiment's arguments (its runs' device), else None."""
    return next((v for v in values if type(v).__name__ == "device"
                 and type(v).__module__ == "torch"), None)


def environment_key(device: Any = None) -> dict:
    import numpy
    import torch
    name = str(device) if device is not None else "cpu"
    if name.startswith("cuda") and torch.cuda.is_available():
        name += f" ({torch.cuda.get_device_name(torch.device(name))})"
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "device": name,
            "dtype": str(torch.get_default_dtype())}


def cache_key(fn: Callable, args: tuple, kwargs: dict) -> str:
    device = _device_among([*args, *kwargs.values()])
    description = {"format": FORMAT, "experiment": f"{fn.__module__}.{fn.__qualname__}",
                   "source": source_hash(fn), "args": canonical(list(args)),
                   "kwargs": canonical(kwargs), "environment": environment_key(device)}
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


class CorruptEntry(Exception):
    pass


class CacheWarning(UserWarning):
    """A cache entry could not be used (and was recomputed)."""


def _warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


def read_entry(path: Path) -> tuple[dict, Any]:
    """The header and the result stored at ``path``; ``CorruptEntry`` saying what is wrong."""
    raw = path.read_bytes()
    header_line, sep, payload = raw.partition(b"\n")
    try:
        header = json.loads(header_line)
    except ValueError:
        raise CorruptEntry("its header is not JSON") from None
    if not sep or not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptEntry("its header is missing or of another format")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CorruptEntry("its payload does not match the sha256 in its header (truncated or "
                           "changed)")
    try:
        return header, pickle.loads(payload)
    except Exception as err:  # a payload that matches its checksum but does not unpickle
        raise CorruptEntry(f"its payload does not load ({type(err).__name__})") from None


def write_entry(path: Path, header: dict, result: Any) -> None:
    payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    header = dict(header, format=FORMAT, sha256=hashlib.sha256(payload).hexdigest())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(header, sort_keys=True).encode() + b"\n" + payload)
    os.replace(tmp, path)


class ExperimentCache:
    """``cache(fn, *args, **kwargs)`` returns ``fn(*args, **kwargs)``, from the cache
    when an entry with the same key exists. Every call is logged in ``events`` (hit, stored,
    recomputed after a corrupt entry, or off) for the results file and the report."""

    def __init__(self, directory: str | os.PathLike, enabled: bool = True,
                 commit: str | None = None, warn: Callable[[str], None] | None = None):
        self.directory = Path(directory)
        self.enabled = enabled
        self.commit = commit
        self.warn = warn or _warn
        self.events: list[dict] = []

    def __call__(self, fn: Callable, *args, **kwargs) -> Any:
        name = f"{fn.__module__}.{fn.__qualname__}"
        if not self.enabled:
            return self._compute(fn, args, kwargs, name, "off", None)
        key = cache_key(fn, args, kwargs)
        path = self.directory / name / f"{key}.pkl"
        status = "stored"
        if path.exists():
            try:
                header, result = read_entry(path)
            except (CorruptEntry, OSError) as err:
                self.warn(f"cache: entry {path} is corrupt: {err}; recomputing it")
                status = "recomputed (corrupt entry)"
            else:
                self.events.append({"experiment": name, "key": key[:16], "status": "hit",
                                    "computed_utc": header.get("computed_utc"),
                                    "commit": header.get("commit"),
                                    "wall_s": header.get("wall_s"), "path": str(path)})
                return result
        return self._compute(fn, args, kwargs, name, status, path, key)

    def _compute(self, fn, args, kwargs, name, status, path, key=None):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        wall = time.perf_counter() - start
        now = utc_now()
        if path is not None:
            write_entry(path, {"key": key, "experiment": name, "computed_utc": now,
                               "commit": self.commit, "wall_s": round(wall, 3)}, result)
        self.events.append({"experiment": name, "key": key[:16] if key else None,
                            "status": status, "computed_utc": now, "commit": self.commit,
                            "wall_s": round(wall, 3), "path": str(path) if path else None})
        return result

    def drain(self) -> list[dict]:
        events, self.events = self.events, []
        return events
