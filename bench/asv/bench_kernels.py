"""Kernels of the functional API: one forward pass, one backward pass, one full step.

Every backend on every shape of ``KERNEL_SHAPES`` (naive on the small ones only), both dtypes;
the tiny shapes measure per-call Python overhead. ``setup`` calls everything once, so Numba
compilation is never timed (its own suite is ``bench_compile``).
"""

from .common import (
    BACKENDS,
    DTYPES,
    KERNEL_SHAPE_IDS,
    KERNEL_SHAPES,
    limit_blas_threads,
    naive_skip_reason,
    shape_data,
    shape_params,
)

OUTPUT = "sigmoid"


class Kernels:
    """``time_forward``, ``time_backward``, ``time_step`` per (backend, shape, dtype)."""

    params = [BACKENDS, KERNEL_SHAPE_IDS, DTYPES]
    param_names = ["backend", "shape", "dtype"]
    timeout = 120
    # Calls take microseconds to ~0.1 s: asv picks `number`; few samples per round keep a
    # full (non --quick) run of this class at a few minutes on 2 cores.
    repeat = (1, 5, 1.0)
    warmup_time = 0.05

    def setup(self, backend, shape_id, dtype):
        shape = KERNEL_SHAPES[shape_id]
        if backend == "naive" and naive_skip_reason(shape):
            raise NotImplementedError(naive_skip_reason(shape))
        limit_blas_threads()
        import fastdnn

        self.fastdnn = fastdnn
        self.hidden = shape.hidden
        self.X, self.Y = shape_data(shape, dtype)
        self.params = shape_params(shape, dtype)
        # The first calls compile (jit): done here, never in a timed method.
        self.AL, self.caches = fastdnn.model_forward(self.X, self.params, self.hidden, OUTPUT,
                                                     backend)  # fmt: skip
        self.grads = fastdnn.model_backward(self.AL, self.Y, self.caches, self.hidden, OUTPUT,
                                            backend)  # fmt: skip
        fastdnn.update_parameters(self.params, self.grads, 0.01, backend)

    def time_forward(self, backend, shape_id, dtype):
        self.fastdnn.model_forward(self.X, self.params, self.hidden, OUTPUT, backend)

    def time_backward(self, backend, shape_id, dtype):
        self.fastdnn.model_backward(self.AL, self.Y, self.caches, self.hidden, OUTPUT, backend)

    def time_step(self, backend, shape_id, dtype):
        f = self.fastdnn
        AL, caches = f.model_forward(self.X, self.params, self.hidden, OUTPUT, backend)
        grads = f.model_backward(AL, self.Y, caches, self.hidden, OUTPUT, backend)
        f.update_parameters(self.params, grads, 0.01, backend)
