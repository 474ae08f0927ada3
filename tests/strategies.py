"""Hypothesis strategies: layer shapes and seeded random arrays for the kernels."""

import numpy as np
from hypothesis import strategies as st

from fastdnn._types import Act

#: The hidden-layer activations (softmax is an output only: see test_course2.py).
activations = st.sampled_from([a for a in Act if a != Act.SOFTMAX])
small_dim = st.integers(min_value=1, max_value=8)
small_m = st.integers(min_value=1, max_value=16)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
layer_dims = st.lists(small_dim, min_size=2, max_size=5)


def random_array(rng, shape, dtype, scale=2.0):
    """Values in [-scale, scale), with a few exact zeros (relu's kink) mixed in."""
    a = rng.uniform(-scale, scale, size=shape)
    a[rng.random(shape) < 0.1] = 0.0
    return np.ascontiguousarray(a, dtype=dtype)
