"""The experiment cache: a hit returns the stored result without running the experiment, the key
changes with the arguments, the source and the environment, a corrupt entry is reported and
recomputed, an entry holds data only (a crafted one cannot run code), and --no-cache
recomputes."""

import numpy as np
import pytest
import torch

from optclaims_report import cache as ec
from reproductions import depth_acceleration as da
from reproductions import linear_nets as ln


def counting(calls):
    def experiment(n, scale=1.0):
        calls.append(n)
        return {"values": np.arange(n) * scale}
    return experiment


@pytest.fixture
def calls():
    return []


def test_a_second_call_with_the_same_key_is_a_hit_and_runs_nothing(tmp_path, calls):
    cache = ec.ExperimentCache(tmp_path)
    first = cache(counting(calls), 5, scale=2.0)
    again = cache(counting(calls), 5, scale=2.0)
    assert calls == [5]
    np.testing.assert_array_equal(first["values"], again["values"])
    assert [e["status"] for e in cache.drain()] == ["stored", "hit"]


def test_other_arguments_are_another_entry(tmp_path, calls):
    cache = ec.ExperimentCache(tmp_path)
    cache(counting(calls), 5, scale=2.0)
    cache(counting(calls), 5, scale=3.0)
    cache(counting(calls), 6, scale=2.0)
    assert calls == [5, 5, 6]


def test_the_key_follows_array_contents_dtype_and_device():
    fn = da.train_grid
    base = ec.cache_key(fn, (np.zeros(3),), {})
    assert ec.cache_key(fn, (np.zeros(3),), {}) == base
    assert ec.cache_key(fn, (np.ones(3),), {}) != base
    assert ec.cache_key(fn, (np.zeros(3, dtype=np.float32),), {}) != base
    assert ec.cache_key(fn, (torch.zeros(3, dtype=torch.float64),), {}) == base
    assert ec.cache_key(fn, (np.zeros(3), torch.device("cpu")), {}) != base


def test_the_key_covers_the_project_modules_the_experiment_reaches():
    reached = {m.__name__ for m in ec.reachable_modules(da.train_grid)}
    assert {"reproductions.depth_acceleration", "reproductions.optimizers"} <= reached


def test_a_changed_source_changes_the_key(monkeypatch):
    before = ec.cache_key(da.train_grid, (1,), {})
    original = ec.Path.read_bytes
    monkeypatch.setattr(ec.Path, "read_bytes", lambda self: original(self) + (
        b"# edited" if self.name == "optimizers.py" else b""))
    assert ec.cache_key(da.train_grid, (1,), {}) != before


def test_the_key_refuses_values_it_cannot_describe():
    with pytest.raises(TypeError, match="cannot make a cache key"):
        ec.cache_key(da.train_grid, (object(),), {})


def damaged(raw: bytes, damage: str) -> bytes:
    """An entry's bytes truncated, with one byte flipped in its middle (an array's data), or
    with its header member's JSON replaced by text that is not JSON."""
    if damage == "truncate":
        return raw[:-7]
    if damage == "flip":
        middle = len(raw) // 2
        return raw[:middle] + bytes([raw[middle] ^ 1]) + raw[middle + 1:]
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == ec.ARRAYS_KEY + ".npy":
                buffer = io.BytesIO()
                np.save(buffer, np.frombuffer(b"not json", np.uint8))
                data = buffer.getvalue()
            dst.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_a_corrupt_entry_is_reported_and_recomputed(tmp_path, calls, damage):
    warnings = []
    cache = ec.ExperimentCache(tmp_path, warn=warnings.append)
    cache(counting(calls), 400)
    entry = next(tmp_path.rglob("*.npz"))
    entry.write_bytes(damaged(entry.read_bytes(), damage))
    result = cache(counting(calls), 400)
    assert calls == [400, 400]
    np.testing.assert_array_equal(result["values"], np.arange(400))
    assert len(warnings) == 1 and str(entry) in warnings[0] and "recomputing" in warnings[0]
    assert cache.drain()[-1]["status"] == "recomputed (corrupt entry)"
    cache(counting(calls), 400)
    assert calls == [400, 400]  # the rewritten entry is good


def test_an_entry_keeps_the_projects_records_arrays_tensors_and_exact_numbers(tmp_path):
    """What the cached experiments return (project dataclasses such as depth_acceleration.Grid,
    dicts keyed by numbers, tensors of any dtype, inf and nan) comes back equal and typed."""
    grid = ln.Grid(p=4, optimizer="gd", seeds=[0, 1], depths=[1, 2], lr_exponents=np.r_[-3.0, -2.5],
                   steps=np.arange(3), loss=np.full((2, 2, 2, 3), np.inf), w=np.ones((2, 2, 2, 1)),
                   lstar=0.1 + 0.2, seconds=1.5, config_steps=7)
    result = {"grid": grid, 10: (np.float32(0.5), float("nan"), -0.0, 2**70),
              "tensors": [torch.arange(3, dtype=torch.bfloat16), torch.ones(2, dtype=torch.int64)],
              "dtype": torch.float64, "device": torch.device("cpu"), "none": None}
    cache = ec.ExperimentCache(tmp_path)

    def experiment():
        return result
    cache(experiment)
    back = cache(experiment)
    assert [e["status"] for e in cache.drain()] == ["stored", "hit"]
    assert isinstance(back["grid"], ln.Grid) and back["grid"].lstar == grid.lstar
    np.testing.assert_array_equal(back["grid"].loss, grid.loss)
    assert back["grid"].config_steps == 7 and back["grid"].seeds == [0, 1]
    half, nan, zero, big = back[10]
    assert half.dtype == np.float32 and np.isnan(nan) and str(zero) == "-0.0" and big == 2**70
    assert back["tensors"][0].dtype == torch.bfloat16
    assert torch.equal(back["tensors"][0], result["tensors"][0])
    assert back["dtype"] is torch.float64 and back["device"] == torch.device("cpu")


def test_a_result_an_entry_cannot_hold_is_returned_and_not_stored(tmp_path):
    warnings = []
    cache = ec.ExperimentCache(tmp_path, warn=warnings.append)
    value = {"f": np.array([object()], dtype=object)}

    def experiment():
        return value
    assert cache(experiment) is value
    assert not list(tmp_path.rglob("*.npz")) and "not stored" in warnings[0]
    assert cache.drain()[-1]["status"] == "not stored"


class Payload:
    """Pickling this runs ``touch <marker>`` when the pickle is loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_at_the_old_entrys_path_is_never_loaded(tmp_path, calls):
    """A format-1 entry (JSON header, then a pickle whose sha256 the header states) is not read."""
    import hashlib
    import json
    import pickle

    marker = tmp_path / "ran"
    fn = counting(calls)
    key = ec.cache_key(fn, (3,), {})
    payload = pickle.dumps(Payload(marker))
    old = tmp_path / "cache" / f"{fn.__module__}.{fn.__qualname__}" / f"{key}.pkl"
    old.parent.mkdir(parents=True)
    old.write_bytes(json.dumps({"format": 1, "sha256": hashlib.sha256(payload).hexdigest()})
                    .encode() + b"\n" + payload)
    ec.ExperimentCache(tmp_path / "cache")(fn, 3)
    assert calls == [3] and not marker.exists()


@pytest.mark.parametrize("craft", ["object array", "class outside the project"])
def test_a_crafted_entry_runs_no_code_and_is_recomputed(tmp_path, calls, craft):
    """An entry written by someone else in place of a good one: numpy refuses a pickled object
    array before its bytes are unpickled; a structure naming os.system (with a matching sha256)
    is refused before anything is imported or called."""
    import json

    marker = tmp_path / "ran"
    fn = counting(calls)
    cache = ec.ExperimentCache(tmp_path / "cache", warn=lambda message: None)
    cache(fn, 3)
    entry = next((tmp_path / "cache").rglob("*.npz"))
    if craft == "object array":
        members = {"a0": np.array([Payload(marker)], dtype=object)}
        structure, digest = {"ndarray": 0}, "0" * 64
    else:
        members, structure = {}, {"dataclass": "os:system", "fields": {}}
        digest = ec._digest(structure, [])
    header = {"format": ec.FORMAT, "arrays": len(members), "structure": structure,
              "sha256": digest}
    np.savez(entry, **members, **{ec.ARRAYS_KEY: np.frombuffer(json.dumps(header).encode(),
                                                               np.uint8)})
    cache(fn, 3)
    assert calls == [3, 3] and not marker.exists()
    assert cache.drain()[-1]["status"] == "recomputed (corrupt entry)"


def test_with_the_cache_off_every_call_runs_and_nothing_is_stored(tmp_path, calls):
    cache = ec.ExperimentCache(tmp_path, enabled=False)
    cache(counting(calls), 3)
    cache(counting(calls), 3)
    assert calls == [3, 3] and not list(tmp_path.rglob("*.npz"))
    assert {e["status"] for e in cache.drain()} == {"off"}
