import numpy as np
import pytest

from alibench.core.errors import UserError
from alibench.evaluation.splits import LabelDraws, check_feasible, make_draws, shared_draws

Y = np.repeat(np.arange(10), 30)


def test_draws_are_class_balanced_and_seeded():
    d = make_draws(Y, 100, seed=3, n_val=2, n_test=5)
    for draw in [d.selection, *d.val, *d.test]:
        assert np.all(np.bincount(Y[draw], minlength=10) == 10)
        assert len(set(draw)) == 100
    again = make_draws(Y, 100, seed=3, n_val=2, n_test=5)
    np.testing.assert_array_equal(d.test, again.test)
    assert not np.array_equal(d.test, make_draws(Y, 100, seed=4, n_val=2, n_test=5).test)


def test_asking_for_fewer_draws_keeps_the_shared_ones():
    many, few = make_draws(Y, 50, 0, 10, 20), make_draws(Y, 50, 0, 3, 4)
    np.testing.assert_array_equal(many.test[:4], few.test)
    np.testing.assert_array_equal(many.val[:3], few.val)


def test_impossible_label_counts_are_refused():
    with pytest.raises(UserError, match="only 30 of class"):
        check_feasible(Y, 400, 10, "the pool")
    with pytest.raises(UserError, match="multiple of 10"):
        check_feasible(Y, 95, 10, "the pool")


def test_shared_draws_are_saved_and_reused(tmp_path):
    d1, path = shared_draws(tmp_path, "npz:x", "abcdef123456", Y, 100, 0, 2, 3)
    assert path.exists()
    d2, path2 = shared_draws(tmp_path, "npz:x", "abcdef123456", Y, 100, 0, 2, 3)
    assert path2 == path
    np.testing.assert_array_equal(d1.test, d2.test)
    np.testing.assert_array_equal(LabelDraws.load(path).selection, d1.selection)
