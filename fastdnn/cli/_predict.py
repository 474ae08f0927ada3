"""``fastdnn predict``: a saved model's predictions as CSV, and its score on labeled data."""

from __future__ import annotations

import sys

from .._validation import check_Y
from ._checks import (
    _check_data_fits_model,
    _check_data_suffix,
    _existing_file,
    _existing_zarr,
    _refuse_overwriting_inputs,
    _suffix,
    _writable_path,
)
from ._messages import UserError


def cmd_predict(args) -> int:
    """Predict with a saved model; write one prediction per example; score labeled data."""
    import numpy as np

    _existing_file(args.model, "--model")
    zarr_folder = _suffix(args.data) == ".zarr"
    if zarr_folder:
        _existing_zarr(args.data, "--data")
    else:
        _existing_file(args.data, "--data")
        _check_data_suffix(args.data, "--data")
    if args.out is not None:
        _writable_path(args.out, "--out")
        _refuse_overwriting_inputs(args.out, "--out", {"--model": args.model, "--data": args.data})

    from ..datafiles import read_data
    from ..io import atomic_write, load_model

    net = load_model(args.model, backend=args.backend)
    n_x = net.layer_dims[0]
    if zarr_folder:  # X stays on disk, read by blocks; the labels (n_y values a column) whole
        from ._beyond_memory import _LargeData

        data = _LargeData(args.data, args.label, need_labels=False)
        X, Y = data.X, None if data.Y is None else np.asarray(data.Y[...])
    else:
        # A CSV's columns are matched by name when the model knows its features' names;
        # otherwise (npz, HDF5, or a model trained without names) by position.
        data = read_data(
            args.data,
            label=args.label,
            n_x=n_x,
            feature_names=net.feature_names,
            label_names=net.label_names,
            require_labels=False,
        )
        X, Y = data.X, data.Y
    _check_data_fits_model(net, args.model, args.data, X.shape, None if Y is None else Y.shape)
    m = X.shape[1]
    if not zarr_folder:
        X = net._input(X)  # checked, and standardised if the model says so
    if Y is not None:  # checked before anything is written: a bad label leaves --out alone
        try:
            Y = check_Y(Y, net.layer_dims[-1], m, net.loss, net.dtype)
        except ValueError as exc:
            raise UserError(f"the labels in '{args.data}': {exc}") from None
    with np.errstate(over="ignore", invalid="ignore"):  # said below, in one line
        if zarr_folder:  # each block checked and standardised as net._input does
            from ..blocks import predict_proba

            try:
                AL = predict_proba(net, X)
            except (ValueError, TypeError) as exc:
                raise UserError(f"the inputs in '{args.data}': {exc}") from None
        else:
            AL = net._output(X)  # one forward pass: the predictions and the score
    bad = ~np.isfinite(AL).all(axis=0)
    if bad.any():  # "0,nan" rows would read as predictions
        raise UserError(
            f"the model '{args.model}' gives non-finite outputs for {int(bad.sum())} of "
            f"{bad.size} examples of '{args.data}' (the first: example {int(np.argmax(bad))}): "
            "its parameters or the data overflow; nothing written"
        )
    score = None if Y is None else net._score_of(AL, Y)
    n_y = AL.shape[0]
    digits = "%.17g" if net.dtype == np.float64 else "%.9g"
    names = ["prediction"] if n_y == 1 else [f"prediction_{k + 1}" for k in range(n_y)]
    if net.output == "sigmoid":
        columns = [(AL > 0.5).astype(np.int64), AL]
        fmt = ["%d"] * n_y + [digits] * n_y
        names += ["probability"] if n_y == 1 else [f"probability_{k + 1}" for k in range(n_y)]
    elif net.output == "softmax":  # the class index, then each class's probability
        columns = [AL.argmax(axis=0).reshape(1, -1), AL]
        fmt = ["%d"] + [digits] * n_y
        names = ["prediction"] + [f"probability_{k}" for k in range(n_y)]
    else:
        columns, fmt = [AL], [digits] * n_y
    table = np.vstack([c.astype(np.float64) for c in columns]).T

    def write(f) -> None:
        np.savetxt(f, table, fmt=fmt, delimiter=",", header=",".join(names), comments="")

    report = sys.stdout
    if args.out is None:
        sys.stdout.flush()  # the CSV goes to the binary buffer underneath
        write(sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout)
        sys.stdout.flush()
        report = sys.stderr  # stdout holds the CSV only
    else:
        atomic_write(args.out, write)
        print(f"wrote {m} predictions to {args.out}")
    if score is not None:
        classifier = net.output in ("sigmoid", "softmax")
        what = "accuracy" if classifier else "R^2"
        value = f"{100 * score:.2f} %" if classifier else f"{score:.4f}"
        print(f"{what} on {args.data}: {value} ({m} examples)", file=report)
    return 0
