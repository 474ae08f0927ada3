"""The keys of dropout masks: one per (seed, training step, layer), counter-based.

A mask is never stored or drawn from a stateful generator: the kernels' ``dropout_forward`` and
``dropout_backward`` derive every unit's draw from a 64-bit key and the unit's position
(splitmix64, see :func:`fastdnn.kernels.vectorized.dropout_forward`). The key depends only on
the model's seed, the global step number and the layer, so masks are the same whatever the
chunking of the training loop, the backend or the number of threads, and a run continued
after ``save``/``load`` draws the masks it would have drawn.

The compiled loop computes the same keys in :func:`fastdnn.kernels.jit._dropout_key`; a test
keeps the two equal.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def splitmix64(x: int) -> int:
    """One splitmix64 step: ``mix(x + golden)`` modulo 2^64."""
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def key(seed: int, step: int, layer: int) -> int:
    """The mask key of ``layer`` (1-based) at training step ``step`` for a model's ``seed``."""
    return splitmix64((splitmix64((splitmix64(seed & _MASK) + step) & _MASK) + layer) & _MASK)
