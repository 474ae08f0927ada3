"""What fastdnn is measured against: the course's own NumPy code, and PyTorch eager.

Used by the benchmarks only (``fastdnn bench``, ``bench/``); nothing in the library imports it.

* :func:`train` is an L-layer network written the way the course's assignment writes it: the
  parameter dict, caches ``((A_prev, W, b), Z)``, new arrays on every step,
  ``dAL = -(Y/AL - (1-Y)/(1-AL))``, ``relu_backward`` by copy and mask, the sigmoid recomputed
  from ``Z``, the cost every iteration. It is the baseline a student starts from, so it is kept
  as written, slow parts included (see the comments marked "course:").
* :func:`train_torch` is the same network in PyTorch eager mode with autograd (plain tensors,
  no ``nn.Linear``), for readers who ask "why not just use torch?". PyTorch is optional. On a
  GPU (``X`` a CUDA tensor) :func:`train_torch_graph` replays its step from a CUDA graph, the
  GPU's best on networks this small (``bench/torch_gpu.py``).
* For the softmax + Adam workload (W5): :func:`train_torch_adam` (``torch.optim.Adam``) and
  :func:`train_mlp` (scikit-learn's ``MLPClassifier``, optional too).

Both train from a copy of the parameters they are given, in the parameters' dtype, and return
the trained parameters as a course dict of NumPy arrays plus the costs they recorded.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------- course-style NumPy
def sigmoid(Z):
    """Course: ``A = 1 / (1 + exp(-Z))``; the cache is ``Z``."""
    A = 1 / (1 + np.exp(-Z))
    return A, Z


def relu(Z):
    """Course: ``A = max(0, Z)``; the cache is ``Z``."""
    A = np.maximum(0, Z)
    return A, Z


def tanh(Z):
    """``A = tanh(Z)`` (the course's planar network); the cache is ``Z``."""
    A = np.tanh(Z)
    return A, Z


def sigmoid_backward(dA, cache):
    """Course: the sigmoid is evaluated again from ``Z``, then ``dZ = dA * s * (1 - s)``."""
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def relu_backward(dA, cache):
    """Course: copy ``dA``, then zero it where ``Z <= 0``."""
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def tanh_backward(dA, cache):
    """``dZ = dA * (1 - tanh(Z)^2)``, with ``tanh`` evaluated again from ``Z``."""
    Z = cache
    return dA * (1 - np.power(np.tanh(Z), 2))


_FORWARD = {"sigmoid": sigmoid, "relu": relu, "tanh": tanh}
_BACKWARD = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward}


def linear_forward(A, W, b):
    """Course: ``Z = W . A + b``; the cache is ``(A, W, b)``."""
    Z = np.dot(W, A) + b
    return Z, (A, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    """Course: LINEAR -> ACTIVATION; the cache is ``(linear_cache, activation_cache)``."""
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = _FORWARD[activation](Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters, hidden="relu"):
    """Course: ``[LINEAR -> hidden] x (L-1) -> LINEAR -> SIGMOID``."""
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], hidden)
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters[f"W{L}"], parameters[f"b{L}"], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    """Course: ``-(1/m) sum(Y log AL + (1-Y) log(1-AL))``."""
    m = Y.shape[1]
    cost = -1 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    return float(np.squeeze(cost))


def linear_backward(dZ, cache):
    """Course: ``dW = 1/m dZ . A_prev^T``, ``db = 1/m sum(dZ)``, ``dA_prev = W^T . dZ``."""
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    """Course: ACTIVATION backward, then LINEAR backward."""
    linear_cache, activation_cache = cache
    dZ = _BACKWARD[activation](dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches, hidden="relu"):
    """Course: backward from ``dAL = -(Y/AL - (1-Y)/(1-AL))`` through every layer."""
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    # course: the unstable form; fastdnn uses dZ_L = AL - Y instead.
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    dA_prev, grads[f"dW{L}"], grads[f"db{L}"] = linear_activation_backward(
        dAL, caches[L - 1], "sigmoid"
    )
    for l in reversed(range(L - 1)):
        dA_prev, grads[f"dW{l + 1}"], grads[f"db{l + 1}"] = linear_activation_backward(
            dA_prev, caches[l], hidden
        )
    return grads


def update_parameters(params, grads, learning_rate):
    """Course: ``W = W - learning_rate * dW`` for every layer, as new arrays."""
    parameters = dict(params)
    L = len(parameters) // 2
    for l in range(1, L + 1):
        parameters[f"W{l}"] = parameters[f"W{l}"] - learning_rate * grads[f"dW{l}"]
        parameters[f"b{l}"] = parameters[f"b{l}"] - learning_rate * grads[f"db{l}"]
    return parameters


def _batches(m, batch_size, steps, seed):
    """Column indices of each step's mini-batch: a fresh permutation per epoch."""
    rng = np.random.default_rng(seed)
    order = None
    n_batches = -(-m // batch_size)
    for step in range(steps):
        k = step % n_batches
        if k == 0:
            order = rng.permutation(m)
        yield order[k * batch_size : (k + 1) * batch_size]


def train(
    X, Y, params, learning_rate, steps, hidden="relu", batch_size=None, seed=0, cost_every=100
):
    """Train the course's way: forward, cost, backward, update, ``steps`` times.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)
    params : dict
        ``{"W1", "b1", ...}``; not modified (the course's update makes new arrays).
    learning_rate : float
    steps : int
        Gradient steps.
    hidden : {"relu", "tanh", "sigmoid"}, default "relu"
    batch_size : int, optional
        Mini-batches of this size, reshuffled every epoch (``X[:, idx]`` copies, as the
        course's ``random_mini_batches`` does); None for full batch.
    seed : int, default 0
        Seed of the shuffling.
    cost_every : int, default 100
        Record the cost every that many steps (it is computed on every step, as in the course).

    Returns
    -------
    params : dict
        Trained parameters.
    costs : list of float
        The cost at steps 0, cost_every, 2 * cost_every, ...
    """
    parameters = {k: np.array(v, copy=True) for k, v in params.items()}
    costs = []
    m = X.shape[1]
    batches = _batches(m, batch_size, steps, seed) if batch_size else None
    for i in range(steps):
        if batches is None:
            Xb, Yb = X, Y
        else:
            idx = next(batches)
            Xb, Yb = X[:, idx], Y[:, idx]
        AL, caches = L_model_forward(Xb, parameters, hidden)
        cost = compute_cost(AL, Yb)
        grads = L_model_backward(AL, Yb, caches, hidden)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % cost_every == 0:
            costs.append(cost)
    return parameters, costs


# ---------------------------------------------------------------- PyTorch eager
def torch_available() -> bool:
    """Whether PyTorch can be imported (it is optional)."""
    try:
        import torch  # noqa: F401 - only asking whether it imports
    except ImportError:
        return False
    return True


def blas_threads() -> int:
    """Threads of the BLAS that NumPy and SciPy use now (1 when unknown)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return 1
    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)


def _torch_tensors(X, Y, params, threads):
    """PyTorch's copies of ``X``, ``Y`` and the parameters (leaf tensors with gradients).

    ``X`` and ``Y`` may be NumPy arrays (shared, on the CPU) or tensors already on a device:
    the parameters go to ``X``'s device, so a GPU run keeps its data there between runs.
    """
    import torch

    torch.set_num_threads(threads or blas_threads())
    Xt = X if torch.is_tensor(X) else torch.from_numpy(np.ascontiguousarray(X))
    Yt = Y if torch.is_tensor(Y) else torch.from_numpy(np.ascontiguousarray(Y))
    device = Xt.device
    L = len(params) // 2
    Ws = [
        torch.tensor(np.asarray(params[f"W{l}"]), device=device, requires_grad=True)
        for l in range(1, L + 1)
    ]
    bs = [
        torch.tensor(np.asarray(params[f"b{l}"]), device=device, requires_grad=True)
        for l in range(1, L + 1)
    ]
    return Xt, Yt.to(device), Ws, bs


def _torch_batches(m, batch_size, steps, seed, device):
    """Each step's batch indices as tensors on ``device`` (None for full batch)."""
    import torch

    if not batch_size:
        return None
    batches = (torch.from_numpy(idx) for idx in _batches(m, batch_size, steps, seed))
    if device.type != "cpu":
        # Copied before the loop: a copy from host memory waits for the device's queue to
        # drain, which would make every step wait for the one before it.
        return iter([idx.to(device) for idx in batches])
    return batches


def _torch_forward(Ws, bs, A, act):
    """``[LINEAR -> act] x (L-1) -> LINEAR``: the output layer's logits."""
    L = len(Ws)
    for l in range(L):
        Z = Ws[l] @ A + bs[l]
        A = act(Z) if l < L - 1 else Z
    return A


def _torch_activation(hidden):
    import torch

    return {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[hidden]


def _numpy_params(Ws, bs):
    """The trained tensors as a course dict of NumPy arrays (copied to the host)."""
    trained = {}
    for l, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
        trained[f"W{l}"] = W.detach().cpu().numpy()
        trained[f"b{l}"] = b.detach().cpu().numpy()
    return trained


def train_torch(
    X,
    Y,
    params,
    learning_rate,
    steps,
    hidden="relu",
    batch_size=None,
    seed=0,
    cost_every=100,
    threads=None,
):
    """The same network in PyTorch eager mode: autograd, manual SGD.

    Plain tensors ``W`` and ``b`` with ``requires_grad`` (no ``nn.Linear``), copied from
    ``params`` in their dtype; the loss is ``binary_cross_entropy_with_logits`` on the output
    logits, i.e. the cost fastdnn minimises; the update runs under ``no_grad``.

    Parameters
    ----------
    X, Y : ndarray or torch.Tensor
        As in :func:`train`; tensors on a device (a GPU) train there, with the parameters
        copied to that device.
    params, learning_rate, steps, hidden, batch_size, seed, cost_every
        As in :func:`train`. Mini-batches use the same permutations as :func:`train`.
    threads : int, optional
        ``torch.set_num_threads``; default: as many as the BLAS has now, so both sides use the
        same number of cores.

    Returns
    -------
    params : dict of ndarray
    costs : list of float
    """
    import torch
    import torch.nn.functional as functional

    Xt, Yt, Ws, bs = _torch_tensors(X, Y, params, threads)
    act = _torch_activation(hidden)
    batches = _torch_batches(Xt.shape[1], batch_size, steps, seed, Xt.device)
    costs = []
    for i in range(steps):
        if batches is None:
            Xb, Yb = Xt, Yt
        else:
            idx = next(batches)
            Xb, Yb = Xt[:, idx], Yt[:, idx]
        A = _torch_forward(Ws, bs, Xb, act)
        # Mean over the n_y * m entries: with n_y = 1 that is fastdnn's (1/m) sum.
        loss = functional.binary_cross_entropy_with_logits(A, Yb)
        loss.backward()
        with torch.no_grad():
            for p in (*Ws, *bs):
                p -= learning_rate * p.grad
                p.grad = None
        if i % cost_every == 0:
            costs.append(float(loss.detach()))
    return _numpy_params(Ws, bs), costs


def train_torch_graph(
    X,
    Y,
    params,
    learning_rate,
    steps,
    hidden="relu",
    batch_size=None,
    seed=0,
    cost_every=100,
    threads=None,
):
    """:func:`train_torch` on a CUDA device, every step replayed from a CUDA graph.

    The step (forward, loss, ``torch.autograd.grad``, the update) is captured once for each
    batch length (two at most: an epoch's last batch may be shorter), after three warm-up
    steps on a side stream whose changes to the parameters are undone, and replayed ``steps``
    times: no kernel launch from Python in the loop, which is what a GPU user does when, as on
    these small networks, launching the kernels costs more than their work. Mini-batches are
    gathered inside the graph through an index buffer that each step refills on the device.

    Parameters and returns as :func:`train_torch`; ``X`` and ``Y`` must be CUDA tensors.

    Raises
    ------
    ValueError
        If ``X`` is not on a CUDA device (checked before any work).
    """
    import torch
    import torch.nn.functional as functional

    if not (torch.is_tensor(X) and X.device.type == "cuda"):
        where = f"a tensor on {X.device}" if torch.is_tensor(X) else type(X).__name__
        raise ValueError(f"train_torch_graph: X must be a CUDA tensor; got {where}")
    Xt, Yt, Ws, bs = _torch_tensors(X, Y, params, threads)
    act = _torch_activation(hidden)
    leaves = [*Ws, *bs]
    batches = _torch_batches(Xt.shape[1], batch_size, steps, seed, Xt.device)
    batches = None if batches is None else list(batches)

    def step(index):
        Xb, Yb = (Xt, Yt) if index is None else (Xt[:, index], Yt[:, index])
        loss = functional.binary_cross_entropy_with_logits(_torch_forward(Ws, bs, Xb, act), Yb)
        grads = torch.autograd.grad(loss, leaves)
        with torch.no_grad():
            for p, g in zip(leaves, grads, strict=True):
                p -= learning_rate * g
        return loss

    # One index buffer per batch length, refilled before each replay (None: full batch).
    indexes = {None: None} if batches is None else {}
    for idx in batches or ():
        indexes.setdefault(len(idx), torch.zeros_like(idx))
    start = [p.detach().clone() for p in leaves]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # capture needs its kernels warmed up off the main stream
        for index in indexes.values():
            for _ in range(3):
                step(index)
    torch.cuda.current_stream().wait_stream(side)
    with torch.no_grad():
        for p, p0 in zip(leaves, start, strict=True):
            p.copy_(p0)
    graphs = {}
    for n, index in indexes.items():
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss = step(index)
        graphs[n] = (graph, index, loss)
    costs = []
    for i in range(steps):
        if batches is None:
            graph, _, loss = graphs[None]
        else:
            graph, index, loss = graphs[len(batches[i])]
            index.copy_(batches[i])
        graph.replay()
        if i % cost_every == 0:
            costs.append(float(loss.detach()))
    return _numpy_params(Ws, bs), costs


# ---------------------------------------------------------------- W5: softmax + Adam
def train_torch_adam(
    X,
    Y,
    params,
    learning_rate,
    steps,
    hidden="relu",
    batch_size=None,
    seed=0,
    cost_every=100,
    threads=None,
):
    """A softmax network in PyTorch eager mode trained with ``torch.optim.Adam``.

    As :func:`train_torch` (``X`` and ``Y`` may be tensors on a device), but the output is a
    softmax over the rows of the one-hot ``Y`` (``(n_y, m)``), the loss ``cross_entropy`` on
    the logits (the mean over the batch: the cost fastdnn minimises) and the optimizer
    ``torch.optim.Adam`` with its defaults (betas 0.9 and 0.999, eps 1e-8, added after the bias
    correction as fastdnn does).
    """
    import torch
    import torch.nn.functional as functional

    Xt, Yt, Ws, bs = _torch_tensors(X, Y, params, threads)
    act = _torch_activation(hidden)
    optimizer = torch.optim.Adam([*Ws, *bs], lr=learning_rate)
    labels = Yt.argmax(dim=0)
    batches = _torch_batches(Xt.shape[1], batch_size, steps, seed, Xt.device)
    costs = []
    for i in range(steps):
        if batches is None:
            Xb, yb = Xt, labels
        else:
            idx = next(batches)
            Xb, yb = Xt[:, idx], labels[idx]
        A = _torch_forward(Ws, bs, Xb, act)
        loss = functional.cross_entropy(A.T, yb)  # examples as rows for torch
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i % cost_every == 0:
            costs.append(float(loss.detach()))
    return _numpy_params(Ws, bs), costs


def sklearn_available() -> bool:
    """Whether scikit-learn can be imported (it is optional)."""
    try:
        import sklearn  # noqa: F401 - only asking whether it imports
    except ImportError:
        return False
    return True


def train_mlp(
    X_rows, labels, hidden_layer_sizes, learning_rate, steps, batch_size, seed=0, activation="relu"
):
    """scikit-learn's ``MLPClassifier(solver="adam", batch_size=..., max_iter=1)``: one epoch
    of ``steps`` Adam mini-batches over the first ``steps * batch_size`` examples.

    ``X_rows`` is ``(m, n_x)``, examples as rows (scikit-learn's layout, C-ordered);
    ``labels`` the class of each. ``alpha=0``: no L2, as fastdnn's W5. scikit-learn draws its
    own initial parameters (Glorot uniform), so only the time compares, not the weights.
    Returns the fitted estimator.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    n = min(steps * batch_size, X_rows.shape[0])
    mlp = MLPClassifier(
        hidden_layer_sizes=tuple(hidden_layer_sizes),
        activation=activation,
        solver="adam",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate_init=learning_rate,
        max_iter=1,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 on purpose
        return mlp.fit(X_rows[:n], labels[:n])
