"""is_in: numpy.isin's answer for token arrays, by bisection."""

import numpy as np

from pipeline.components.token_arrays import is_in, sorted_ids


def test_is_in_answers_as_numpy_isin_does():
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 2 ** 64 - 1, 40, dtype=np.uint64)
    values = np.concatenate([rng.choice(ids, 300), rng.integers(0, 2 ** 64 - 1, 300, dtype=np.uint64),
                             np.array([0, 2 ** 64 - 1], dtype=np.uint64)])
    for known in (ids, ids[:1], ids[:0]):
        assert (is_in(values, sorted_ids(known.tolist())) == np.isin(values, known)).all()
    assert is_in(values[:0], sorted_ids(ids.tolist())).shape == (0,)
