"""Training benchmarks: ``DNN.fit`` on the named workloads W1-W5, against references.

Each round trains ``shortened`` steps of a workload (each well under a second for numpy and
jit) from the workload's initial parameters, so every round does the same work. The references
train the same steps from the same parameters: the course's NumPy code (``course-numpy``, not
on W5: it has no softmax or Adam) and PyTorch eager (``torch``, skipped when PyTorch is not
installed; ``torch.optim.Adam`` on W5). On W5, scikit-learn's ``MLPClassifier`` too
(``sklearn-mlp``: the same steps from its own initial draw). naive trains W1 only, and
fewer steps (``NAIVE_STEPS``): every benchmark records its ``steps`` in ``extra_info``, and
``bench/ratios.py`` compares time per step. Compilation happens in an untimed first call.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastdnn_bench_common import (
    WORKLOAD_IDS,
    get,
    naive_skip_reason,
    shortened_steps,
    workload_data,
    workload_params,
)

import fastdnn
from fastdnn import _references


def _output(w) -> dict:
    # Passed only when not the default, so the suite still runs against commits before W5.
    return {} if w.output == "sigmoid" else {"output": w.output}


def _optimizer(w) -> dict:
    return {} if w.optimizer == "gd" else {"optimizer": w.optimizer}


def _workload(dtype, workload_id, backend=None):
    w = get(workload_id)
    X, Y = workload_data(w, dtype)
    return w, X, Y, workload_params(w, dtype), shortened_steps(w, backend=backend)


@pytest.mark.parametrize("workload_id", WORKLOAD_IDS)
def test_fit(benchmark, label, backend, dtype, workload_id):
    w, X, Y, params, steps = _workload(dtype, workload_id, backend)
    if backend == "naive" and (reason := naive_skip_reason(w)):
        pytest.skip(reason)
    net = fastdnn.DNN(w.layer_dims, hidden=w.hidden, backend=backend, dtype=dtype, seed=w.seed,
                      **_output(w))  # fmt: skip

    def fit(n=steps):
        net.set_params(params)  # every round starts from the same parameters
        return net.fit(X, Y, w.learning_rate, num_iterations=n, batch_size=w.batch_size,
                       cost_every=n, **_optimizer(w))  # fmt: skip

    # Compile, choose BLAS per product, allocate the workspace: at the timed length, which
    # picks jit's path (W2's steps take the Gram path, one step does not).
    fit(1 if backend == "naive" else steps)
    label(backend, "fit", workload_id, dtype, steps)
    history = benchmark(fit)
    assert history.n_steps == steps


@pytest.mark.parametrize("workload_id", WORKLOAD_IDS)
def test_fit_course_numpy(benchmark, label, dtype, workload_id):
    w, X, Y, params, steps = _workload(dtype, workload_id)
    if w.output != "sigmoid":
        pytest.skip("the course's code has a sigmoid output and gradient descent only")

    def fit(n=steps):
        return _references.train(X, Y, params, w.learning_rate, n, w.hidden, w.batch_size,
                                 seed=w.seed, cost_every=n)  # fmt: skip

    fit(1)
    label("course-numpy", "fit", workload_id, dtype, steps)
    trained, _ = benchmark(fit)
    assert trained["W1"].dtype == params["W1"].dtype


@pytest.mark.parametrize("workload_id", WORKLOAD_IDS)
def test_fit_torch(benchmark, label, blas_threads, dtype, workload_id):
    pytest.importorskip("torch", reason="PyTorch is optional: pip install torch")
    w, X, Y, params, steps = _workload(dtype, workload_id)

    train = _references.train_torch_adam if w.optimizer == "adam" else _references.train_torch

    def fit(n=steps):
        return train(X, Y, params, w.learning_rate, n, w.hidden, w.batch_size, seed=w.seed,
                     cost_every=n, threads=blas_threads)  # fmt: skip

    fit(1)
    label("torch", "fit", workload_id, dtype, steps)
    trained, _ = benchmark(fit)
    assert trained["W1"].dtype == params["W1"].dtype


@pytest.mark.parametrize("workload_id", [i for i in WORKLOAD_IDS if get(i).optimizer == "adam"])
def test_fit_sklearn_mlp(benchmark, label, dtype, workload_id):
    pytest.importorskip("sklearn", reason="scikit-learn is optional: pip install scikit-learn")
    w, X, Y, _, steps = _workload(dtype, workload_id)
    # scikit-learn's layout (examples as rows), built once: the examples of `steps` batches.
    rows = np.ascontiguousarray(X[:, : steps * w.batch_size].T)
    labels = Y[:, : steps * w.batch_size].argmax(axis=0)

    def fit(n=steps):
        return _references.train_mlp(rows, labels, w.layer_dims[1:-1], w.learning_rate, n,
                                     w.batch_size, seed=w.seed)  # fmt: skip

    fit(1)
    label("sklearn-mlp", "fit", workload_id, dtype, steps)
    mlp = benchmark(fit)
    assert mlp.n_iter_ == 1 and mlp.coefs_[0].dtype == X.dtype
