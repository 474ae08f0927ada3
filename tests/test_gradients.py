"""Backpropagation against central finite differences (the course's gradient check)."""

import numpy as np
import pytest

import fastdnn
from fastdnn._types import ACTIVATIONS

HIDDEN = sorted(ACTIVATIONS)


def cost_of(params, X, Y, hidden, output, backend):
    AL, _ = fastdnn.model_forward(X, params, hidden, output, backend)
    return fastdnn.compute_cost(AL, Y, "bce" if output == "sigmoid" else "mse")


@pytest.mark.parametrize("output", ["sigmoid", "linear"])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backprop_matches_central_differences(backend, hidden, output):
    rng = np.random.default_rng(7)
    dims = [3, 5, 4, 2]
    params = fastdnn.initialize_parameters(dims, init="xavier", seed=3)
    for l in range(1, len(dims)):
        params[f"b{l}"][...] = rng.uniform(-0.5, 0.5, params[f"b{l}"].shape)
    X = rng.uniform(-1, 1, (3, 6))
    Y = (rng.random((2, 6)) < 0.5).astype(float) if output == "sigmoid" else rng.normal(size=(2, 6))
    AL, caches = fastdnn.model_forward(X, params, hidden, output, backend)
    grads = fastdnn.model_backward(AL, Y, caches, hidden, output, backend)

    eps = 1e-6
    analytic, numeric = [], []
    for key, theta in params.items():
        for idx in np.ndindex(theta.shape):
            saved = theta[idx]
            theta[idx] = saved + eps
            plus = cost_of(params, X, Y, hidden, output, backend)
            theta[idx] = saved - eps
            minus = cost_of(params, X, Y, hidden, output, backend)
            theta[idx] = saved
            numeric.append((plus - minus) / (2 * eps))
            analytic.append(grads["d" + key][idx])
    analytic, numeric = np.array(analytic), np.array(numeric)
    # The course's relative difference; a kink of relu within eps of a Z would show as ~1e-3.
    rel = np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric))
    assert rel < 1e-7, f"{backend} {hidden}/{output}: relative difference {rel:.2e}"
