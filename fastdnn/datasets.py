"""The course's datasets: the planar "flower" (regenerated) and cat vs non-cat (HDF5).

The cat files are not shipped. :func:`load_cat_dataset` looks in, in order: the ``path``
argument, the ``FASTDNN_DATA`` environment variable (read at each call), then ``../shared/data``
relative to the current directory, then ``shared/data`` beside the checkout (the folder that
holds the ``fastdnn`` package's repository).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
# ../shared/data beside the checkout (where the project keeps it), from the cwd or the package.
_DEFAULT_DATA_DIRS = (
    Path("../shared/data"),
    Path(__file__).resolve().parents[2] / "shared" / "data",
)


def load_planar_dataset() -> tuple[np.ndarray, np.ndarray]:
    """The course's planar "flower" data (week 3), regenerated from its formula.

    Uses NumPy's legacy global RNG exactly as the course's ``planar_utils.load_planar_dataset``
    does (``np.random.seed(1)``, then for each class the 200 angle noises, then the 200 radius
    noises), so the points are the course's own. Note this reseeds the global RNG, as the
    course's function does.

    Returns
    -------
    X : ndarray of shape (2, 400), float64
        Coordinates, examples as columns.
    Y : ndarray of shape (1, 400), uint8
        Labels, 200 of each class (0 = red, 1 = blue).

    Examples
    --------
    >>> X, Y = load_planar_dataset()
    >>> X.shape, Y.shape, int(Y.sum())
    ((2, 400), (1, 400), 200)
    """
    # The course's legacy global RNG, on purpose: the points must be the course's own.
    np.random.seed(1)  # noqa: NPY002
    m = 400
    N = m // 2
    D = 2
    a = 4  # maximum ray of the flower
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2  # noqa: NPY002
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2  # noqa: NPY002
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def find_data_dir(path: str | os.PathLike | None = None) -> Path:
    """Locate the folder holding the course's cat HDF5 files.

    Parameters
    ----------
    path : str or path-like, optional
        A folder holding both files. Defaults to ``$FASTDNN_DATA``, then ``../shared/data``.

    Raises
    ------
    FileNotFoundError
        Naming every place looked in and the file names expected there.
    """
    if path is not None:
        candidates = [Path(path)]
    elif os.environ.get("FASTDNN_DATA"):
        candidates = [Path(os.environ["FASTDNN_DATA"])]
    else:
        candidates = list(_DEFAULT_DATA_DIRS)
    for folder in candidates:
        if all((folder / name).is_file() for name in CAT_FILES):
            return folder
    looked = ", ".join(str(c.resolve()) for c in candidates)
    raise FileNotFoundError(
        f"the course's cat data ({' and '.join(CAT_FILES)}) was not found in: {looked}. "
        "Pass path=FOLDER, or set FASTDNN_DATA to the folder holding both files."
    )


def _require_h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading the cat dataset needs h5py: pip install 'fastdnn[hdf5]' (or pip install h5py)"
        ) from None
    return h5py


def load_cat_dataset(path: str | os.PathLike | None = None):
    """The course's cat vs non-cat images, as the course's ``load_data`` returns them.

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``; see
        :func:`find_data_dir` for the default.

    Returns
    -------
    train_x_orig : ndarray of shape (209, 64, 64, 3), uint8
    train_y : ndarray of shape (1, 209), int64
    test_x_orig : ndarray of shape (50, 64, 64, 3), uint8
    test_y : ndarray of shape (1, 50), int64
    classes : ndarray of shape (2,), bytes
        ``[b'non-cat', b'cat']`` (read from the test file, as the course does).

    Raises
    ------
    FileNotFoundError
        If the files are not found.
    ImportError
        If h5py is not installed (``pip install 'fastdnn[hdf5]'``).

    See Also
    --------
    flatten_images : turn the images into the course's ``(12288, m)`` inputs in [0, 1].
    """
    folder = find_data_dir(path)
    h5py = _require_h5py()
    with h5py.File(folder / CAT_FILES[0], "r") as train:
        train_x = np.array(train["train_set_x"][:])
        train_y = np.array(train["train_set_y"][:])
    with h5py.File(folder / CAT_FILES[1], "r") as test:
        test_x = np.array(test["test_set_x"][:])
        test_y = np.array(test["test_set_y"][:])
        classes = np.array(test["list_classes"][:])
    return (
        train_x,
        train_y.reshape((1, train_y.shape[0])),
        test_x,
        test_y.reshape((1, test_y.shape[0])),
        classes,
    )


def flatten_images(x_orig: np.ndarray, scale: float = 255.0) -> np.ndarray:
    """Flatten images into columns and scale them, as the course does.

    ``x_orig.reshape(x_orig.shape[0], -1).T / scale``.

    Parameters
    ----------
    x_orig : ndarray of shape (m, height, width, channels)
        Images, examples on axis 0.
    scale : float, default 255.0
        Divisor (255 maps 8-bit pixels to [0, 1]).

    Returns
    -------
    ndarray of shape (height * width * channels, m), float64

    Examples
    --------
    >>> flatten_images(np.full((2, 1, 1, 3), 255, dtype=np.uint8)).shape
    (3, 2)
    """
    x_orig = np.asarray(x_orig)
    if x_orig.ndim < 2:
        raise ValueError(
            "x_orig must have examples on axis 0 and at least 2 dimensions; "
            f"got shape {x_orig.shape}"
        )
    return x_orig.reshape(x_orig.shape[0], -1).T / scale


def load_cat_data(path: str | os.PathLike | None = None):
    """The cat data ready to train on: ``(train_x, train_y, test_x, test_y)``.

    ``train_x`` is ``(12288, 209)`` and ``test_x`` is ``(12288, 50)``, float64 in [0, 1];
    the labels are ``(1, m)`` float64. See :func:`load_cat_dataset` for ``path``.
    """
    train_x_orig, train_y, test_x_orig, test_y, _ = load_cat_dataset(path)
    return (
        flatten_images(train_x_orig),
        train_y.astype(np.float64),
        flatten_images(test_x_orig),
        test_y.astype(np.float64),
    )
