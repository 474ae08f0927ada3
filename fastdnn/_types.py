"""The tables every part of fastdnn reads: activations, outputs and their losses, names.

One place each: validation, the kernels, the command line and the docs read these tables, so
adding an activation or an output is a change here plus its kernels. Kernels receive the small
integer codes (an ``IntEnum``), not strings: jitted code cannot dispatch on strings cheaply.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, NamedTuple

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
OutputName = Literal["sigmoid", "softmax", "linear"]
LossName = Literal["bce", "cce", "mse"]
OptimizerName = Literal["gd", "momentum", "rmsprop", "adam"]
InitName = Literal["course", "xavier", "he", "zeros", "glorot"]
DTypeName = Literal["float64", "float32"]

INITS: tuple[str, ...] = ("course", "xavier", "he", "zeros", "glorot")


class Act(IntEnum):
    """Activation codes passed to kernels."""

    LINEAR = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    SOFTMAX = 5  # output layers only: it normalises each column, it is not elementwise


class Loss(IntEnum):
    """Loss codes passed to kernels."""

    BCE = 0  # binary cross-entropy, paired with a sigmoid output
    MSE = 1  # (1 / 2m) * sum of squared errors, paired with a linear output
    CCE = 2  # categorical cross-entropy, paired with a softmax output


class Opt(IntEnum):
    """Optimizer codes passed to the training loop (the course's names)."""

    GD = 0
    MOMENTUM = 1
    RMSPROP = 2
    ADAM = 3


class Output(NamedTuple):
    """An output layer: its activation, the loss it is trained with, what it is for."""

    act: Act
    loss: Loss
    task: str


#: The hidden-layer activations by name (elementwise). Derivatives are written from the
#: activation's output A.
ACTIVATIONS: dict[str, Act] = {a.name.lower(): a for a in Act if a != Act.SOFTMAX}
LOSSES: dict[str, Loss] = {x.name.lower(): x for x in Loss}
#: The output layers fastdnn trains. For each, ``dZ_L = A_L - Y`` (see the kernels' Notes).
OUTPUTS: dict[str, Output] = {
    "sigmoid": Output(Act.SIGMOID, Loss.BCE, "binary classification (0/1 labels per row)"),
    "softmax": Output(Act.SOFTMAX, Loss.CCE, "multi-class classification (one-hot Y)"),
    "linear": Output(Act.LINEAR, Loss.MSE, "regression (halved mean squared error)"),
}
OPTIMIZERS: dict[str, Opt] = {o.name.lower(): o for o in Opt}
#: The loss each output activation is trained with, by name.
OUTPUT_LOSS: dict[str, str] = {name: o.loss.name.lower() for name, o in OUTPUTS.items()}
#: Default negative-side slope of leaky_relu.
LEAKY_SLOPE = 0.01


#: Early stopping's settings and their defaults (``DNN.fit``, ``fastdnn train``): given other
#: values without early stopping they would do nothing, so they are refused instead.
EARLY_STOPPING_SETTINGS = {"validation_fraction": 0.1, "patience": 10, "tol": 1e-4}
