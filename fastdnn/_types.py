"""Type aliases and the small integer codes that jitted kernels use instead of strings."""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]
#: The course's parameter dict: ``{"W1": (n1, n0), "b1": (n1, 1), ...}``.
Params = dict[str, Array]
Grads = dict[str, Array]
Backend = Literal["naive", "numpy", "jit"]
#: The backend names, for validation without importing the kernels (the registry that maps
#: them to kernel modules is :data:`fastdnn.backends.BACKENDS`; a test keeps the two equal).
BACKEND_NAMES: tuple[str, ...] = ("naive", "numpy", "jit")
ActivationName = Literal["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
#: The output activations fastdnn can train (each has a loss, see :data:`OUTPUT_LOSS`).
OutputName = Literal["sigmoid", "linear"]
LossName = Literal["bce", "mse"]
InitName = Literal["course", "xavier", "he", "zeros"]
DTypeName = Literal["float64", "float32"]


class Act(IntEnum):
    """Activation codes passed to kernels (njit code cannot dispatch on strings cheaply)."""

    LINEAR = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4


class Loss(IntEnum):
    """Loss codes passed to kernels."""

    BCE = 0  # binary cross-entropy, paired with a sigmoid output
    MSE = 1  # (1 / 2m) * sum of squared errors, paired with a linear output


ACTIVATIONS: dict[str, Act] = {a.name.lower(): a for a in Act}
LOSSES: dict[str, Loss] = {x.name.lower(): x for x in Loss}
#: The loss each output activation is trained with; both make dZ_L = A_L - Y.
OUTPUT_LOSS: dict[str, str] = {"sigmoid": "bce", "linear": "mse"}
#: Default negative-side slope of leaky_relu.
LEAKY_SLOPE = 0.01
