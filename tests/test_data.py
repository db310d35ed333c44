import hashlib
import pickle

import numpy as np
import pytest

from reproductions.data import (SLOT, DataUnavailable, load_cifar10, verified, wilson_dataset)


@pytest.fixture
def paper():
    return wilson_dataset(n=50, p=0.7, m=200, seed=3, variant="paper")


def test_wilson_shapes_and_width(paper):
    d = 3 + SLOT * (50 + 200)
    assert paper.X_train.shape == (50, d) and paper.X_test.shape == (200, d)
    assert paper.train_support == 3 + SLOT * 50


def test_wilson_training_labels_have_exact_class_counts(paper):
    assert (paper.y_train == 1).sum() == 35 and (paper.y_train == -1).sum() == 15


def test_wilson_first_three_features_are_label_and_ones(paper):
    for X, y in ((paper.X_train, paper.y_train), (paper.X_test, paper.y_test)):
        np.testing.assert_array_equal(X[:, 0], y)
        np.testing.assert_array_equal(X[:, 1:3], 1.0)


@pytest.mark.parametrize("variant, negatives", [("paper", 5), ("notes", 3)])
def test_wilson_unique_feature_counts(variant, negatives):
    data = wilson_dataset(n=50, p=0.7, m=100, seed=0, variant=variant)
    counts = data.X_train[:, 3:].sum(1)
    np.testing.assert_array_equal(counts, np.where(data.y_train > 0, 1, negatives))


def test_wilson_test_points_use_fresh_slots(paper):
    assert not paper.X_test[:, 3:paper.train_support].any()
    assert not paper.X_train[:, paper.train_support:].any()
    # every test point has its own block, disjoint from the others
    assert (paper.X_test[:, paper.train_support:].sum(0) <= 1).all()


def test_sign_of_Xty_interpolates_with_margin_4_in_the_paper_variant(paper):
    X, y = paper.X_train, paper.y_train
    np.testing.assert_array_equal(X @ np.sign(X.T @ y), 4 * y)


def test_sign_identity_fails_in_the_notes_variant():
    data = wilson_dataset(n=50, p=0.7, m=10, seed=0, variant="notes")
    X, y = data.X_train, data.y_train
    assert not np.array_equal(X @ np.sign(X.T @ y), 4 * y)


def test_verified_names_a_missing_file(tmp_path):
    with pytest.raises(DataUnavailable, match=r"missing data file .*nope\.bin.*sha256 abc"):
        verified(tmp_path / "nope.bin", "abc", source="somewhere")


def test_verified_rejects_a_corrupt_file(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello")
    good = hashlib.sha256(b"hello").hexdigest()
    assert verified(f, good) == f
    with pytest.raises(DataUnavailable, match="corrupt data file"):
        verified(f, "0" * 64)


def _write_cifar(folder, rng):
    folder.mkdir(parents=True)
    sums = {}
    for name, n in [(f"data_batch_{i}", 4) for i in range(1, 6)] + [("test_batch", 3)]:
        blob = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"labels": list(rng.integers(0, 10, n))}
        path = folder / name
        path.write_bytes(pickle.dumps(blob))
        sums[name] = hashlib.md5(path.read_bytes()).hexdigest()
    return sums


def test_cifar10_reader_parses_the_python_format(tmp_path):
    rng = np.random.default_rng(0)
    sums = _write_cifar(tmp_path / "cifar-10-batches-py", rng)
    x_train, y_train, x_test, y_test = load_cifar10(tmp_path, sums)
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.shape == (20,)
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())
    # channel-major rows of 1024 become the last axis
    np.testing.assert_array_equal(x_test[0, :, :, 1].ravel(), raw[b"data"][0, 1024:2048])


def test_cifar10_reader_refuses_unpublished_files(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py", np.random.default_rng(0))
    with pytest.raises(DataUnavailable, match="data_batch_1"):
        load_cifar10(tmp_path)  # the published MD5s do not match these synthetic files
