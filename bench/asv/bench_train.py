"""``DNN.fit`` on the named workloads W1-W5: time, peak memory and the cost it reaches.

Each call trains the workload's ``shortened`` steps (naive: ``NAIVE_STEPS``, W1 only) from the
workload's initial parameters, so every sample does the same work. ``track_final_cost`` makes a
speed-up that changes the arithmetic visible (sklearn's asv suite tracks scores the same way).
"""

from .common import (
    BACKENDS,
    DTYPES,
    WORKLOAD_IDS,
    get,
    limit_blas_threads,
    naive_skip_reason,
    shortened_steps,
    workload_data,
    workload_params,
)


class Fit:
    """``time_fit``, ``peakmem_fit``, ``track_final_cost`` per (backend, workload, dtype)."""

    params = [BACKENDS, WORKLOAD_IDS, DTYPES]
    param_names = ["backend", "workload", "dtype"]
    timeout = 300
    # One fit is ~0.01-1 s: one call per sample, a few samples, one round (setup builds up to
    # 376 MB of data, so each extra round costs more than its samples).
    number = 1
    repeat = (1, 3, 10.0)
    rounds = 1
    warmup_time = 0.0

    def setup(self, backend, workload_id, dtype):
        w = get(workload_id)
        if backend == "naive" and naive_skip_reason(w):
            raise NotImplementedError(naive_skip_reason(w))
        limit_blas_threads()
        import fastdnn

        self.fastdnn = fastdnn
        self.w = w
        self.steps = shortened_steps(w, backend=backend)
        self.X, self.Y = workload_data(w, dtype)
        self.params0 = workload_params(w, dtype)
        # output and optimizer only when not the defaults: commits before W5 still run W1-W4.
        self.output = {} if w.output == "sigmoid" else {"output": w.output}
        self.optimizer = {} if w.optimizer == "gd" else {"optimizer": w.optimizer}
        self.net = fastdnn.DNN(w.layer_dims, hidden=w.hidden, backend=backend, dtype=dtype,
                               seed=w.seed, **self.output)  # fmt: skip
        # Compile, choose a BLAS per product, allocate the workspace: at the timed length,
        # which picks jit's path (W2's steps take the Gram path, one step does not).
        self._fit(1 if backend == "naive" else self.steps)

    def _fit(self, n):
        self.net.set_params(self.params0)  # every call starts from the same parameters
        return self.net.fit(self.X, self.Y, self.w.learning_rate, num_iterations=n,
                            batch_size=self.w.batch_size, cost_every=n,
                            **self.optimizer)  # fmt: skip

    def time_fit(self, backend, workload_id, dtype):
        self._fit(self.steps)

    def peakmem_fit(self, backend, workload_id, dtype):
        self._fit(self.steps)

    def track_final_cost(self, backend, workload_id, dtype):
        self._fit(self.steps)
        AL = self.net.predict_proba(self.X)
        if self.output:  # the loss of the output (cce for softmax)
            return self.fastdnn.compute_cost(AL, self.Y, self.net.loss)
        return self.fastdnn.compute_cost(AL, self.Y)

    track_final_cost.unit = "cost"
