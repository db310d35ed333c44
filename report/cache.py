"""A cache of expensive experiments (the `slow` and `gpu` tiers): a later run with the same key
re-checks and re-renders from the stored raw results instead of retraining.

The key is a sha256 over everything that can change the result:

- the source of the experiment's module and of every project module it reaches through its
  globals (a change to ``reproductions/optimizers.py`` invalidates the depth experiments that
  import it), and of any function passed as an argument;
- the arguments, made canonical: numbers by ``repr``, containers element by element, arrays and
  tensors by dtype, shape and the sha256 of their bytes, dataclasses and named tuples field by
  field;
- python, torch, numpy, scipy and scikit-learn versions, the device the experiment runs on and
  torch's default dtype.

An entry is one file, ``<dir>/<experiment>/<key>.npz``, that holds data only: the result's
arrays and tensors as arrays (``numpy.load(..., allow_pickle=False)``: an object array is
refused), and a JSON description of the structure around them (numbers, strings, lists, tuples,
dicts, and the dataclasses and named tuples of the project's own modules, rebuilt field by field
without calling their code), with a sha256 over both. Loading an entry therefore cannot run code,
whoever wrote it: a copied or shared cache directory can at worst hold wrong numbers for its
keys, as any results file can. A result holding anything else is not stored (a warning says
what). A file that does not load, does not match its sha256 or names a class outside the project
is reported and recomputed (and overwritten), never used. Caching is off with ``--no-cache``
(CI's regression run sets it, so a torch upgrade is really re-measured).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import importlib
import platform
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any, Callable

from .results import library_versions, utc_now

PROJECT_PACKAGES = ("reproductions",)
FORMAT = 2          # 1: a pickled payload (never read any more)
SUFFIX = ".npz"


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
    import torch
    name = str(device) if device is not None else "cpu"
    if name.startswith("cuda") and torch.cuda.is_available():
        name += f" ({torch.cuda.get_device_name(torch.device(name))})"
    versions = library_versions(("torch", "numpy", "scipy", "sklearn"))
    return {"python": platform.python_version(), **versions, "device": name,
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


# --- entries: data only --------------------------------------------------------------------
ARRAYS_KEY = "__entry__"    # the npz member holding the JSON header and structure


def _class_path(value: Any) -> str:
    """``module:qualname`` of a project dataclass or named tuple; TypeError for any other class."""
    cls = type(value)
    if _project_module(cls) is None:
        raise TypeError(f"the cache stores only the project's own classes, not {cls.__module__}."
                        f"{cls.__qualname__}")
    return f"{cls.__module__}:{cls.__qualname__}"


def encode(value: Any, arrays: list) -> Any:
    """A JSON description of ``value``, its arrays appended to ``arrays`` (referred to by index).
    TypeError for what an entry cannot hold."""
    import numpy as np
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        return {"namedtuple": _class_path(value), "items": [encode(v, arrays) for v in value]}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"dataclass": _class_path(value), "fields": {
            f.name: encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}}
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.hasobject:
            raise TypeError("the cache does not store object arrays")
        arrays.append(np.asarray(value))
        return {"ndarray" if isinstance(value, np.ndarray) else "npscalar": len(arrays) - 1}
    if type(value).__module__ == "torch" and type(value).__name__ in ("device", "dtype"):
        return {f"torch_{type(value).__name__}": str(value).removeprefix("torch.")}
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        import torch
        exact = value.detach().cpu()    # numpy has no bfloat16: such tensors go via float32
        arrays.append((exact.float() if exact.dtype == torch.bfloat16 else exact).numpy())
        return {"tensor": len(arrays) - 1, "dtype": str(value.dtype).removeprefix("torch."),
                "device": str(value.device), "requires_grad": bool(value.requires_grad)}
    raise TypeError(f"the cache cannot store a {type(value).__module__}."
                    f"{type(value).__qualname__}")


def _project_class(path: str) -> type:
    """The project dataclass or named tuple ``module:qualname``; CorruptEntry for anything else
    (a name outside the project's packages is never imported)."""
    module_name, _, qualname = path.partition(":")
    if module_name.split(".")[0] not in PROJECT_PACKAGES or not qualname:
        raise CorruptEntry(f"it names {path!r}, not a class of the project's packages")
    try:
        obj: Any = importlib.import_module(module_name)
        for name in qualname.split("."):
            obj = getattr(obj, name)
    except (ImportError, AttributeError):
        raise CorruptEntry(f"it names {path!r}, which does not exist") from None
    record = isinstance(obj, type) and (dataclasses.is_dataclass(obj) or (
        issubclass(obj, tuple) and hasattr(obj, "_fields")))
    if not record:
        raise CorruptEntry(f"it names {path!r}, which is not a dataclass or named tuple")
    return obj


def decode(node: Any, arrays: list) -> Any:
    """The value ``encode`` described; CorruptEntry for a description it cannot have written."""
    if node is None or isinstance(node, (bool, str)):
        return node
    tags = [key for key in node if key in _DECODERS] if isinstance(node, dict) else []
    if len(tags) != 1:
        raise CorruptEntry("its structure has an unknown node")
    tag = tags[0]       # the header is written with sorted keys: the tag need not come first
    try:
        return _DECODERS[tag](node, arrays)
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise CorruptEntry(f"its structure does not decode ({type(err).__name__} at {tag!r})") \
            from None


def _decode_dataclass(node: dict, arrays: list) -> Any:
    cls = _project_class(node["dataclass"])
    names = [f.name for f in dataclasses.fields(cls)]
    if sorted(node["fields"]) != sorted(names):
        raise CorruptEntry(f"its {cls.__qualname__} has other fields than the class")
    obj = cls.__new__(cls)      # field by field, as pickle does: no __init__ code runs
    for name in names:
        object.__setattr__(obj, name, decode(node["fields"][name], arrays))
    return obj


def _torch_dtype(name: str) -> Any:
    """torch's dtype ``name`` ("float32"); ValueError for any other attribute of torch."""
    import torch
    dtype = getattr(torch, name)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(name)
    return dtype


def _decode_tensor(node: dict, arrays: list) -> Any:
    import torch
    tensor = torch.from_numpy(arrays[node["tensor"]].copy()).to(_torch_dtype(node["dtype"]))
    device = torch.device(node["device"])
    if device.type == "cuda" and torch.cuda.is_available():   # else kept on the CPU
        tensor = tensor.to(device)
    return tensor.requires_grad_(node["requires_grad"])


def _decode_torch_device(node: dict, arrays: list) -> Any:
    import torch
    return torch.device(node["torch_device"])


_DECODERS: dict[str, Callable[[dict, list], Any]] = {
    "int": lambda n, a: int(n["int"]),
    "float": lambda n, a: float(n["float"]),
    "list": lambda n, a: [decode(v, a) for v in n["list"]],
    "tuple": lambda n, a: tuple(decode(v, a) for v in n["tuple"]),
    "dict": lambda n, a: {decode(k, a): decode(v, a) for k, v in n["dict"]},
    "namedtuple": lambda n, a: _project_class(n["namedtuple"])._make(
        decode(v, a) for v in n["items"]),
    "dataclass": _decode_dataclass,
    "ndarray": lambda n, a: a[n["ndarray"]],
    "npscalar": lambda n, a: a[n["npscalar"]][()],
    "tensor": _decode_tensor,
    "torch_dtype": lambda n, a: _torch_dtype(n["torch_dtype"]),
    "torch_device": _decode_torch_device,
}


def _digest(structure: Any, arrays: list) -> str:
    digest = hashlib.sha256(json.dumps(structure, sort_keys=True).encode())
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def read_entry(path: Path) -> tuple[dict, Any]:
    """The header and the result stored at ``path``; ``CorruptEntry`` saying what is wrong."""
    import numpy as np
    try:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(stored[ARRAYS_KEY].tobytes())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise CorruptEntry("its header is missing or of another format")
            arrays = [stored[f"a{i}"] for i in range(int(header["arrays"]))]
    except CorruptEntry:
        raise
    except Exception as err:   # not a zip, a member missing or damaged, an object array, bad JSON
        raise CorruptEntry(f"it does not load as data ({type(err).__name__}: {err})") from None
    if _digest(header.get("structure"), arrays) != header.get("sha256"):
        raise CorruptEntry("its content does not match the sha256 in its header (changed)")
    return header, decode(header["structure"], arrays)


def write_entry(path: Path, header: dict, result: Any) -> None:
    """Store ``result`` at ``path`` (atomically); TypeError, storing nothing, for a result that
    an entry cannot hold."""
    import numpy as np
    arrays: list = []
    structure = encode(result, arrays)
    header = dict(header, format=FORMAT, arrays=len(arrays), structure=structure,
                  sha256=_digest(structure, arrays))
    members = {f"a{i}": array for i, array in enumerate(arrays)}
    members[ARRAYS_KEY] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)     # no object arrays: encode refused them
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
        path = self.directory / name / f"{key}{SUFFIX}"
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
            try:
                write_entry(path, {"key": key, "experiment": name, "computed_utc": now,
                                   "commit": self.commit, "wall_s": round(wall, 3)}, result)
            except TypeError as err:
                self.warn(f"cache: {name}'s result is not stored: {err}")
                status, path = "not stored", None
        self.events.append({"experiment": name, "key": key[:16] if key else None,
                            "status": status, "computed_utc": now, "commit": self.commit,
                            "wall_s": round(wall, 3), "path": str(path) if path else None})
        return result

    def drain(self) -> list[dict]:
        events, self.events = self.events, []
        return events
