"""``fastdnn train``: the flags checked, then the data read whole and trained on (data beyond
the memory, or on a cluster: :mod:`fastdnn.cli._beyond_memory`)."""

from __future__ import annotations

import time

from .._types import EARLY_STOPPING_SETTINGS
from ._beyond_memory import _beyond_memory, _train_beyond_memory
from ._checks import (
    _check_data_fits_model,
    _check_data_suffix,
    _check_memory,
    _existing_file,
    _existing_zarr,
    _refuse_overwriting_inputs,
    _suffix,
    _writable_path,
)
from ._messages import UserError, _blas_threads, _diverged, _plural
from ._training_setup import (
    _course2_options,
    _hidden_layers,
    _network_settings,
    _new_network,
    _read_training_data,
    _resuming_line,
    _save_model,
    _scale_note,
    _standardize,
)


def cmd_train(args) -> int:
    """Train a network on a data file, print its costs and training score, save it."""
    # Every flag is checked before any data is read or any step is taken.
    if _suffix(args.data) == ".zarr":
        _existing_zarr(args.data, "--data")
    else:
        _existing_file(args.data, "--data")
        _check_data_suffix(args.data, "--data")
    if args.scheduler is not None and "://" not in args.scheduler:
        raise UserError(
            f"--scheduler must be a Dask scheduler address like tcp://host:8786; got "
            f"{args.scheduler!r}"
        )
    _writable_path(args.out, "--out")
    inputs = {"--data": args.data}
    if args.resume is not None:
        _existing_file(args.resume, "--resume")
        inputs["--resume"] = args.resume
    _refuse_overwriting_inputs(args.out, "--out", inputs)
    if args.batch_size is not None and args.iterations is None and args.epochs is None:
        raise UserError("--batch-size needs --epochs N (or --iterations N)")
    if not args.early_stopping:  # they would be ignored
        for name, default in EARLY_STOPPING_SETTINGS.items():
            if getattr(args, name) != default:
                flag = "--" + name.replace("_", "-")
                raise UserError(
                    f"{flag} is an early-stopping setting and does nothing without "
                    "--early-stopping: leave it out"
                )
    if args.progress:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            raise UserError("--progress needs tqdm: pip install 'fastdnn[progress]'") from None
    resumed = _network_settings(args)
    hidden = _hidden_layers(args) if resumed is None else resumed.layer_dims[1:-1]
    # the hidden layers alone, before the data is read (its size only makes it larger)
    _check_memory(
        [1, *hidden, 1],
        1,
        args.dtype,
        None,
        f"--layers {' '.join(map(str, hidden))}",
        "use smaller --layers (or --dtype float32)",
    )
    if _beyond_memory(args):  # issue 13: a zarr folder, --block-size, --scheduler, a large HDF5
        return _train_beyond_memory(args, hidden, resumed)

    import numpy as np

    from .. import DivergenceError

    data = _read_training_data(args.data, args.label, resumed, args.resume)
    if resumed is not None:
        _check_data_fits_model(resumed, args.resume, args.data, data.X.shape, data.Y.shape)
    X, Y = data.X, data.Y
    m = X.shape[1]
    layer_dims = [X.shape[0], *hidden, Y.shape[0]] if resumed is None else resumed.layer_dims
    _check_memory(
        layer_dims,
        m,
        args.dtype,
        args.batch_size,
        f"the network {layer_dims}",
        "use smaller --layers, --batch-size or --dtype float32",
    )
    print(f"data: {args.data}: X {X.shape}, Y {Y.shape} ({m} examples)")
    if args.output == "sigmoid":  # 0/1 labels, or probabilities (soft labels), as fit takes
        values = np.unique(Y[(Y < 0) | (Y > 1)])
        if values.size:
            shown = values[:5].tolist()
            hint = (
                f"the model '{args.resume}' has a sigmoid output"
                if resumed is not None
                else "use --output softmax for classes 0..K-1, linear for regression"
            )
            raise UserError(
                f"the labels in '{args.data}' must be 0 or 1 (or probabilities in [0, 1]) for "
                f"--output sigmoid; found "
                f"{shown} ({hint})"
            )
    if resumed is not None:
        net = resumed
        print(_resuming_line(net, args.resume))
    else:
        net = _new_network(args, layer_dims, data, Y)
    if args.standardize:
        _standardize(net, X)
        print(
            "inputs standardised with the training data's mean and standard deviation "
            "(saved with the model)"
        )
    elif resumed is None:  # (a resumed model keeps its own scaling, or none)
        note = _scale_note(X)
        if note:
            print(note)
    iterations = args.iterations
    if iterations is None and args.epochs is None:
        iterations = 2500  # the course's deep-network default
    steps = (
        _plural(iterations, "iteration")
        if iterations is not None
        else _plural(args.epochs, "epoch")
    )
    batch = f", mini-batches of {args.batch_size}" if args.batch_size else ", full batch"
    print(
        f"training {layer_dims} hidden={args.hidden} output={args.output} for {steps}{batch}, "
        f"learning rate {args.lr}, seed {args.seed}, backend {args.backend!r}, "
        f"{args.dtype}"
    )
    course2 = _course2_options(args)
    if course2:
        print("with " + ", ".join(f"{k}={v}" for k, v in course2.items()))
    steps_before = net.n_steps_
    t0 = time.perf_counter()
    try:
        history = net.fit(
            X,
            Y,
            learning_rate=args.lr,
            num_iterations=iterations,
            epochs=args.epochs,
            batch_size=args.batch_size,
            cost_every=args.cost_every,
            print_cost=True,
            progress=args.progress,
            **course2,
        )
    except DivergenceError as exc:
        raise _diverged(exc) from None
    seconds = time.perf_counter() - t0
    if history.stop_reason == "interrupted":
        print(f"interrupted after {_plural(history.n_steps, 'iteration')}")
    else:
        print(
            f"trained {_plural(history.n_steps, 'iteration')} in {seconds:.2f} s{_blas_threads()}"
        )
    if history.best_iteration is not None:
        best = history.val_costs[history.val_iterations.index(history.best_iteration)]
        if history.stop_reason == "early_stopping":
            print(
                f"stopped early: the validation cost did not improve for {args.patience} "
                f"records; kept the parameters of iteration {history.best_iteration} "
                f"(validation cost {best:.6g})"
            )
        elif history.best_iteration < steps_before + history.n_steps:
            # a run that completed keeps its best record too: say so, or the saved model's
            # step count surprises (a resumed run starts from it)
            print(
                f"kept the parameters of iteration {history.best_iteration}, the best "
                f"validation cost ({best:.6g}), not those of the last step"
            )
    score = net.score(X, Y)
    if args.output in ("sigmoid", "softmax"):
        print(f"training accuracy: {100 * score:.2f} %")
    else:
        print(f"training R^2: {score:.4f}")
    return _save_model(net, history, args.out)
