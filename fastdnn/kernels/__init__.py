"""The math of fastdnn, three times: ``naive`` (loops), ``vectorized`` (NumPy), ``jit`` (Numba).

Every module exports the same public names with the same signatures (a test checks it). Kernels
take checked, C-contiguous arrays of one floating dtype, write into caller-owned ``*_out``
arrays, and validate nothing: validation happens once, at the public entry points
(:mod:`fastdnn.model`, :class:`fastdnn.DNN`, the command line).

Conventions (the course's): ``A_prev`` is ``(n_prev, m)`` with examples as columns, ``W`` is
``(n, n_prev)``, ``b`` is ``(n, 1)``. Activation and loss arguments are the integer codes of
:class:`fastdnn._types.Act` and :class:`fastdnn._types.Loss`. Derivatives are computed from the
activation's output ``A``, so a forward pass only needs to keep ``A``. A ``dA_prev_out`` of size
0 means "do not compute dA_prev" (the first layer never needs it). Softmax (``Act.SOFTMAX``) is
an output activation only: its backward pass is ``output_backward``'s ``AL - Y``.

Beyond the course's first part: one fused update per optimizer (momentum, RMSprop, Adam, over
the flat ``theta``/``grad`` and the optimizer's state buffers), the L2 term of a layer, and
inverted dropout with counter-based masks (keys from :mod:`fastdnn._dropout`).
"""

KERNEL_NAMES = (
    "linear_forward",
    "activation_forward",
    "linear_activation_forward",
    "activation_backward",
    "linear_backward",
    "linear_activation_backward",
    "output_backward",
    "cost_from_logits",
    "update",
    "update_momentum",
    "update_rmsprop",
    "update_adam",
    "add_l2",
    "dropout_forward",
    "dropout_backward",
)
