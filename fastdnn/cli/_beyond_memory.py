"""``fastdnn train`` on data read by blocks (:mod:`fastdnn.blocks`): a zarr folder, an HDF5
file larger than half the memory, ``--block-size``; or on a Dask cluster (``--scheduler``)."""

from __future__ import annotations

import math
import time

from ._checks import _check_data_fits_model, _check_memory, _suffix
from ._messages import UserError, _diverged, _plural
from ._training_setup import (
    _course2_options,
    _n_classes,
    _named,
    _network_from_flags,
    _read_training_data,
    _resuming_line,
    _save_model,
)


def _beyond_memory(args) -> bool:
    """Train by blocks (or on a cluster) rather than read the data whole?"""
    if args.scheduler is not None or args.block_size is not None:
        return True
    suffix = _suffix(args.data)
    if suffix == ".zarr":
        return True
    if suffix in (".h5", ".hdf5"):
        from ..datafiles import available_memory

        need, available = _h5_x_bytes(args.data), available_memory()
        # Read whole, X is converted once (a copy): beyond half the memory, read it by blocks.
        return need is not None and available is not None and need > available // 2
    return False


def _h5_x_bytes(path: str) -> int | None:
    """The declared size of an HDF5 file's dataset ``X`` (None without one: e.g. the course's
    ``*_set_x`` image files, which are read whole)."""
    from pathlib import Path

    from ..datafiles import _open_regular
    from ..datasets import _require_h5py

    h5py = _require_h5py()
    with _open_regular(Path(path)) as f:
        try:
            with h5py.File(f, "r") as h5:
                if h5.get("X", getclass=True) is not h5py.Dataset:
                    return None
                X = h5["X"]
                return math.prod(X.shape) * X.dtype.itemsize
        except (OSError, ValueError, KeyError, TypeError):
            return None  # read_data reports what is wrong with the file


class _LargeData:
    """``X`` ``(n_x, m)`` and ``Y`` ``(n_y, m)`` left on disk: a zarr group's arrays or an
    HDF5 file's datasets, checked from their metadata (names, shapes, dtypes; for HDF5, no
    links or storage outside the file); or, for other files, read whole by ``read_data``."""

    def __init__(
        self, path: str, label: str | None, resumed=None, resume_path=None, need_labels=True
    ):
        """``need_labels=False`` (predict): a data set without its labels has ``Y`` None."""
        import numpy as np

        self.path, self.close, self.y_name = path, lambda: None, label or "Y"
        self.need_labels = need_labels
        self.feature_names = self.label_names = None  # a CSV's column names
        suffix = _suffix(path)
        if suffix == ".zarr":
            X, Y = self._zarr(path, label)
        elif suffix in (".h5", ".hdf5"):
            X, Y = self._h5(path, label)
        else:  # read whole, as in memory: a CSV's columns by name when going on with a model
            data = _read_training_data(path, label, resumed, resume_path)
            X, Y = data.X, data.Y
            self.feature_names, self.label_names = data.feature_names, data.label_names
        if len(X.shape) != 2 or 0 in X.shape or np.dtype(X.dtype).kind not in "biuf":
            raise UserError(
                f"the inputs X in '{path}' must be a non-empty 2-D array of numbers (n_x, m), "
                f"examples as columns; got shape {tuple(X.shape)}, dtype {X.dtype}"
            )
        m = X.shape[1]
        if Y is None:
            self.X, self.Y, self.n_y = X, None, None
            return
        y_shape = (1, *Y.shape) if len(Y.shape) == 1 else tuple(Y.shape)
        if len(y_shape) != 2 or y_shape[1] != m or np.dtype(Y.dtype).kind not in "biuf":
            raise UserError(
                f"the labels Y in '{path}' must be numbers of shape (n_y, {m}) to match X "
                f"{tuple(X.shape)}; got shape {tuple(Y.shape)}, dtype {Y.dtype}"
            )
        self.X, self.Y, self.n_y = X, Y, y_shape[0]

    def _zarr(self, path: str, label: str | None):
        try:
            import zarr
        except ImportError:
            raise UserError(f"reading '{path}' needs zarr: pip install 'fastdnn[dask]'") from None
        try:
            group = zarr.open_group(path, mode="r")
            names = sorted(group.array_keys())
        except Exception as exc:  # noqa: BLE001 - zarr raises many kinds; one line says which
            raise UserError(f"'{path}' is not a readable zarr group ({exc})") from None
        return self._pick(group, names, label)

    def _h5(self, path: str, label: str | None):
        from pathlib import Path

        from ..datafiles import _h5_entries, _open_regular
        from ..datasets import _require_h5py

        h5py = _require_h5py()
        f = _open_regular(Path(path))
        try:
            h5 = h5py.File(f, "r")
        except (OSError, ValueError) as exc:
            f.close()
            raise UserError(f"'{path}' is not a readable HDF5 file ({exc})") from None
        self.close = lambda: (h5.close(), f.close())
        entries = _h5_entries(Path(path), h5, h5py)  # refuses links and outside storage
        return self._pick({k: e.dset for k, e in entries.items()}, sorted(entries), label)

    def _pick(self, arrays, names, label):
        y_name = self.y_name
        missing = [n for n in ("X", y_name) if n not in names]
        if missing == [y_name] and not self.need_labels and label is None:
            return arrays["X"], None
        if missing:
            raise UserError(
                f"'{self.path}' has no array {' or '.join(map(repr, missing))} (X: the inputs "
                f"(n_x, m); {y_name}: the labels (n_y, m)); it holds {names}"
            )
        return arrays["X"], arrays[y_name]

    def dask(self, block_size: int | None):
        """X and Y as dask arrays, read where the blocks are computed."""
        import dask.array as da

        from ..blocks import BLOCK_BYTES

        n_x, m = self.X.shape
        width = block_size or max(1, BLOCK_BYTES // (8 * n_x))
        suffix = _suffix(self.path)
        if suffix == ".zarr":  # the workers read the folder (it must be where they can see it)
            X = da.from_zarr(self.path, component="X")
            return X.rechunk({0: -1, 1: width}), da.from_zarr(self.path, component=self.y_name)
        if suffix in (".h5", ".hdf5"):
            # The workers open the file by its name (dask.distributed's h5py support).
            import h5py

            f = h5py.File(self.path, "r")
            X, Y = f["X"], f[self.y_name]
            return da.from_array(X, chunks=(n_x, width)), da.from_array(Y)
        return da.from_array(self.X, chunks=(n_x, width)), self.Y


def _block_size_for_memory(m: int, example_bytes: int, batch_size: int | None) -> int | None:
    """None (the library's default blocks) when eight of those fit in the memory available;
    else blocks of an eighth of it (a block trained on, one read ahead, their conversions)."""
    from ..blocks import block_bounds
    from ..datafiles import available_memory

    available = available_memory()
    width = block_bounds(m, None, example_bytes, None, batch_size)[0][1]
    if available is None or 8 * width * example_bytes <= available:
        return None
    width = max(1, available // (8 * example_bytes))
    if batch_size:
        width = max(batch_size, width // batch_size * batch_size)
    print(
        f"note: blocks of {width:,} examples, to fit the memory available; pass --block-size "
        f"{width} to train the same way elsewhere"
    )
    return width


def _train_beyond_memory(args, hidden: list[int], resumed) -> int:
    """``train`` on data read by blocks (fastdnn.blocks) or on a Dask cluster (fastdnn.dask);
    ``resumed``: the model to go on training (None: a new one)."""
    from .. import DivergenceError, blocks

    client = _connect(args.scheduler) if args.scheduler is not None else None
    data = _LargeData(args.data, args.label, resumed, args.resume)
    try:
        X, Y = data.X, data.Y
        n_x, m = X.shape
        layer_dims = [n_x, *hidden, data.n_y]
        if resumed is not None:
            _check_data_fits_model(resumed, args.resume, args.data, X.shape, (data.n_y, m))
            layer_dims = resumed.layer_dims
        elif args.output == "softmax" and data.n_y == 1:  # class indices: one row, 8 B each
            import numpy as np

            layer_dims[-1] = _n_classes(
                np.asarray(Y[...], dtype=np.float64).reshape(1, -1), args.data
            )
            print(f"classes: 0..{layer_dims[-1] - 1} (one softmax output each)")
        block_size = args.block_size or _block_size_for_memory(
            m, n_x * (4 if args.dtype == "float32" else 8), args.batch_size
        )
        bounds = blocks.block_bounds(
            m, block_size, n_x * (4 if args.dtype == "float32" else 8), None, args.batch_size
        )
        width = max(e - s for s, e in bounds)
        _check_memory(
            layer_dims,
            2 * width,
            args.dtype,
            args.batch_size,
            f"the network {layer_dims} with blocks of {width:,} examples",
            "use smaller --layers, --block-size or --dtype float32",
        )
        where = (
            f"on the Dask cluster at {args.scheduler}"
            if args.scheduler
            else f"out of core, in blocks of {width:,} examples"
        )
        print(
            f"data: {args.data}: X {tuple(X.shape)}, Y {tuple(Y.shape)} ({m} examples), "
            f"trained {where}"
        )
        if resumed is not None:
            net = resumed
            print(_resuming_line(net, args.resume))
        else:
            net = _named(
                _network_from_flags(args, layer_dims), args, data.feature_names, data.label_names
            )
        if args.standardize:
            mean, scale = blocks.moments(X, block_size)
            scale[scale == 0] = 1.0
            net.set_input_scaling(mean, scale)
            print(
                "inputs standardised with the training data's mean and standard deviation "
                "(one pass over the blocks; saved with the model)"
            )
        iterations = args.iterations
        if iterations is None and args.epochs is None:
            iterations = 2500
        kwargs = dict(
            learning_rate=args.lr,
            num_iterations=iterations,
            epochs=args.epochs,
            batch_size=args.batch_size,
            cost_every=args.cost_every,
            print_cost=True,
        )
        # Course 2 as in memory; what blocks or a cluster cannot do (dropout, early stopping)
        # is refused by the library in one line (ValueError: exit 2).
        course2 = _course2_options(args)
        if course2:
            print("with " + ", ".join(f"{k}={v}" for k, v in course2.items()))
        for name in ("validation_fraction", "patience", "tol"):
            course2.pop(name, None)
        kwargs.update(course2)
        t0 = time.perf_counter()
        try:
            if client is not None:
                history, score = _train_on_cluster(client, net, data, block_size, kwargs)
            else:
                history = blocks.fit(
                    net, X, Y, progress=args.progress, block_size=block_size, **kwargs
                )
                score = blocks.score(net, X, Y, block_size)
        except DivergenceError as exc:
            raise _diverged(exc) from None
        seconds = time.perf_counter() - t0
        if history.stop_reason == "interrupted":
            print(f"interrupted after {_plural(history.n_steps, 'iteration')}")
        else:
            print(f"trained {_plural(history.n_steps, 'iteration')} in {seconds:.2f} s")
        if args.output in ("sigmoid", "softmax"):
            print(f"training accuracy: {100 * score:.2f} %")
        else:
            print(f"training R^2: {score:.4f}")
    finally:
        data.close()
        if client is not None:
            client.close()
    return _save_model(net, history, args.out)


def _connect(address: str):
    """A client of the Dask scheduler at ``address``, or a one-line error."""
    try:
        import distributed

        from .. import dask  # noqa: F401 - fails here, not after the data are read
    except ImportError as exc:
        raise UserError(f"--scheduler needs dask: pip install 'fastdnn[dask]' ({exc})") from None
    import dask

    # Dask's own setting (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s), default 30 s.
    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        text = " ".join(str(exc).split())  # one line
        raise UserError(f"cannot connect to the Dask scheduler at {address} ({text})") from None
    workers = len(client.scheduler_info().get("workers", {}))
    print(f"connected to the Dask scheduler at {address}: {_plural(workers, 'worker')}")
    return client


def _train_on_cluster(client, net, data: _LargeData, block_size, kwargs):
    from .. import dask as fdask

    X, Y = data.dask(block_size)
    history = fdask.fit(net, X, Y, client=client, block_size=block_size, **kwargs)
    return history, fdask.score(net, X, Y)
