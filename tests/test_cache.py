"""The experiment cache: a hit returns the stored result without running the experiment, the key
changes with the arguments, the source and the environment, a corrupt entry is reported and
recomputed, and --no-cache recomputes."""

import numpy as np
import pytest
import torch

from optclaims_report import cache as ec
from reproductions import depth_acceleration as da


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


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_a_corrupt_entry_is_reported_and_recomputed(tmp_path, calls, damage):
    warnings = []
    cache = ec.ExperimentCache(tmp_path, warn=warnings.append)
    cache(counting(calls), 4)
    entry = next(tmp_path.rglob("*.pkl"))
    raw = entry.read_bytes()
    entry.write_bytes({"truncate": raw[:-7], "flip": raw[:-1] + bytes([raw[-1] ^ 1]),
                       "header": b"not json" + raw}[damage])
    result = cache(counting(calls), 4)
    assert calls == [4, 4]
    np.testing.assert_array_equal(result["values"], np.arange(4))
    assert len(warnings) == 1 and str(entry) in warnings[0] and "recomputing" in warnings[0]
    assert cache.drain()[-1]["status"] == "recomputed (corrupt entry)"
    cache(counting(calls), 4)
    assert calls == [4, 4]  # the rewritten entry is good


def test_with_the_cache_off_every_call_runs_and_nothing_is_stored(tmp_path, calls):
    cache = ec.ExperimentCache(tmp_path, enabled=False)
    cache(counting(calls), 3)
    cache(counting(calls), 3)
    assert calls == [3, 3] and not list(tmp_path.rglob("*.pkl"))
    assert {e["status"] for e in cache.drain()} == {"off"}
