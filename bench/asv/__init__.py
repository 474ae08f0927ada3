"""The asv suite of fastdnn (``asv.conf.json`` at the repo root: ``benchmark_dir`` is here).

One module per concern: ``bench_kernels`` (forward, backward, one step of the functional API),
``bench_train`` (``DNN.fit`` on the named workloads: time, peak memory, final cost),
``bench_compile`` (Numba compile time in a fresh process). Shapes, workloads and data come from
``common``, which pytest-benchmark (``bench/test_bench_*.py``) reads too.
"""
