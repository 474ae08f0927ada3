"""The benchmark tooling works: references train and agree, ratios table, ``fastdnn bench``.

Quick by design (a few seconds): the benchmarks themselves run in ``bench/``, never here, and
nothing here asserts a time.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastdnn
from fastdnn import _references
from fastdnn import bench as fastdnn_bench

ROOT = Path(__file__).resolve().parents[1]


def _load(name, relpath):
    """Import a file of ``bench/`` by path (``bench/`` is not a package and is not installed)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def common():
    return _load("fastdnn_bench_common_smoke", "bench/asv/common.py")


@pytest.fixture(scope="module")
def ratios():
    return _load("fastdnn_bench_ratios_smoke", "bench/ratios.py")


def _small(seed=0, dims=(3, 5, 4, 1), m=12):
    rng = np.random.default_rng(seed)
    X = rng.random((dims[0], m))
    Y = rng.integers(0, 2, size=(1, m)).astype(np.float64)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        params[f"b{l}"] = np.zeros((dims[l], 1))
    return X, Y, params


# ---------------------------------------------------------------- references
@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_course_reference_matches_numpy_backend(hidden):
    """Three steps of the course's code give fastdnn's numpy-backend parameters.

    1e-10: the two differ only in rounding (``dW = 1/m * dZ A^T`` against ``dZ A^T / m``;
    the course's ``dAL * s(1-s)`` against ``AL - Y``), a few ulps per step on these sizes.
    """
    X, Y, params = _small()
    before = {k: v.copy() for k, v in params.items()}
    trained, costs = _references.train(X, Y, params, 0.5, 3, hidden=hidden, cost_every=1)
    net = fastdnn.DNN([3, 5, 4, 1], hidden=hidden, backend="numpy").set_params(params)
    net.fit(X, Y, 0.5, num_iterations=3)
    for key in params:
        assert_allclose(trained[key], net.params[key], rtol=1e-10, atol=1e-10, err_msg=key)
        np.testing.assert_array_equal(params[key], before[key], err_msg=f"{key} was modified")
    assert len(costs) == 3


@pytest.mark.parametrize("batch_size", [None, 5])
def test_course_reference_trains(batch_size):
    X, Y, params = _small(seed=1, m=20)
    _, costs = _references.train(X, Y, params, 0.5, 300, hidden="tanh", batch_size=batch_size,
                                 cost_every=50)  # fmt: skip
    if batch_size is None:
        assert costs[-1] < costs[0]
    else:  # mini-batch costs are of different batches: compare full-batch costs instead
        trained, _ = _references.train(X, Y, params, 0.5, 300, "tanh", batch_size)
        AL0, _ = _references.L_model_forward(X, params, "tanh")
        AL1, _ = _references.L_model_forward(X, trained, "tanh")
        assert _references.compute_cost(AL1, Y) < _references.compute_cost(AL0, Y)


def test_course_reference_keeps_float32():
    X, Y, params = _small()
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    trained, _ = _references.train(X.astype(np.float32), Y.astype(np.float32), p32, 0.5, 2)
    assert all(v.dtype == np.float32 for v in trained.values())


def test_torch_reference_matches_and_trains():
    pytest.importorskip("torch", reason="PyTorch is optional")
    X, Y, params = _small()
    trained, costs = _references.train_torch(X, Y, params, 0.5, 3, hidden="relu", cost_every=1,
                                             threads=1)  # fmt: skip
    course, course_costs = _references.train(X, Y, params, 0.5, 3, hidden="relu", cost_every=1)
    for key in params:
        # Same float64 arithmetic up to the order of sums: a few ulps.
        assert_allclose(trained[key], course[key], rtol=1e-10, atol=1e-10, err_msg=key)
    assert_allclose(costs, course_costs, rtol=1e-10)
    _, long_costs = _references.train_torch(X, Y, params, 0.5, 200, hidden="relu",
                                            cost_every=50, threads=1)  # fmt: skip
    assert long_costs[-1] < long_costs[0]


def test_torch_reference_takes_tensors_on_a_device():
    """Tensors train where they are (a GPU run keeps its data there): same steps as arrays."""
    torch = pytest.importorskip("torch", reason="PyTorch is optional")
    X, Y, params = _small()
    arrays, costs = _references.train_torch(X, Y, params, 0.5, 7, batch_size=4, cost_every=1,
                                            threads=1)  # fmt: skip
    tensors, tensor_costs = _references.train_torch(
        torch.from_numpy(X), torch.from_numpy(Y), params, 0.5, 7, batch_size=4, cost_every=1,
        threads=1,
    )  # fmt: skip
    for key in params:
        np.testing.assert_array_equal(tensors[key], arrays[key], err_msg=key)
    assert tensor_costs == costs


def test_torch_graph_refuses_host_data():
    pytest.importorskip("torch", reason="PyTorch is optional")
    X, Y, params = _small()
    with pytest.raises(ValueError, match="X must be a CUDA tensor; got ndarray"):
        _references.train_torch_graph(X, Y, params, 0.5, 3)


def _cuda():
    torch = pytest.importorskip("torch", reason="PyTorch is optional")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (bench/torch_gpu.py's graph runner)")
    return torch


@pytest.mark.parametrize("batch_size", [None, 4, 5])
def test_torch_graph_replays_the_eager_steps(batch_size):
    """The graph's steps are eager's; batch_size 5 of m=12 ends each epoch on a batch of 2,
    a second graph."""
    torch = _cuda()
    X, Y, params = _small()
    Xd, Yd = torch.from_numpy(X).cuda(), torch.from_numpy(Y).cuda()
    steps = 9 if batch_size else 30  # mini-batches: over three epochs, new orders
    options = dict(batch_size=batch_size, cost_every=1)
    eager, costs = _references.train_torch(Xd, Yd, params, 0.5, steps, **options)
    graph, graph_costs = _references.train_torch_graph(Xd, Yd, params, 0.5, steps, **options)
    for key in params:
        # The same kernels in the same order: equal up to the reductions' order (none here).
        assert_allclose(graph[key], eager[key], rtol=1e-12, atol=1e-14, err_msg=key)
    assert_allclose(graph_costs, costs, rtol=1e-12)
    if batch_size is None:  # (mini-batch costs are of different batches)
        assert graph_costs[-1] < graph_costs[0]


# ---------------------------------------------------------------- workloads
def test_package_mirror_matches_common(common):
    """``fastdnn/bench.py`` keeps a copy of the workload table: it must not drift."""
    assert list(fastdnn_bench.WORKLOADS) == list(common.WORKLOADS)
    for key, w in common.WORKLOADS.items():
        mirror = fastdnn_bench.WORKLOADS[key]
        for field in mirror._fields:
            assert getattr(mirror, field) == getattr(w, field), (key, field)
    # Same recipe, same arrays: checked on W1, the one cheap enough to build here.
    w = common.WORKLOADS["W1"]
    for dtype in ("float64", "float32"):
        X, Y = common.workload_data(w, dtype)
        Xm, Ym = fastdnn_bench.workload_data(fastdnn_bench.WORKLOADS["W1"], dtype)
        np.testing.assert_array_equal(X, Xm)
        np.testing.assert_array_equal(Y, Ym)
        p, pm = common.workload_params(w, dtype), fastdnn_bench.workload_params(w, dtype)
        for k in p:
            np.testing.assert_array_equal(p[k], pm[k])
            assert p[k].dtype == np.dtype(dtype)


def test_workloads_follow_design(common):
    """../shared/DESIGN.md's table, as data: dims, activation, m, steps, learning rate."""
    expected = {
        "W1": ((2, 4, 1), "tanh", 400, 10_000, 1.2, None),
        "W2": ((12288, 20, 7, 5, 1), "relu", 209, 2500, 0.0075, None),
        "W3": ((784, 128, 64, 1), "relu", 10_000, 200, 0.1, None),
        "W4": ((784, 128, 64, 1), "relu", 60_000, 938, 0.1, 64),
        "W5": ((784, 128, 64, 10), "relu", 60_000, 469, 0.001, 128),
    }
    for key, (dims, hidden, m, steps, lr, bs) in expected.items():
        w = common.WORKLOADS[key]
        assert (w.layer_dims, w.hidden, w.m, w.steps, w.learning_rate, w.batch_size) == (
            dims, hidden, m, steps, lr, bs)  # fmt: skip
        softmax_adam = ("softmax", "adam") if key == "W5" else ("sigmoid", "gd")
        assert (w.output, w.optimizer) == softmax_adam
    assert common.naive_skip_reason(common.WORKLOADS["W1"]) is None
    assert common.naive_skip_reason(common.WORKLOADS["W3"])
    assert common.shortened_steps(common.WORKLOADS["W1"], backend="naive") == common.NAIVE_STEPS
    X, Y = common.shape_data("L2_n2-4-1_m8_tanh")
    assert X.shape == (2, 8) and set(np.unique(Y)) <= {0.0, 1.0}
    assert ((0 <= X) & (X < 1)).all()


# ---------------------------------------------------------------- ratios.py
def _bench(group, contender, median, steps=None):
    extra = {"contender": contender}
    if steps:
        extra["steps"] = steps
    return {"group": group, "name": f"test[{contender}]", "params": {}, "extra_info": extra,
            "stats": {"median": median}}  # fmt: skip


def test_ratios_table(ratios, tmp_path):
    data = {
        "machine_info": {
            "system": "Linux", "machine": "x86_64", "cpu": {"brand_raw": "Test CPU", "count": 2},
            "fastdnn_versions": {"python": "3.11.7", "numpy": "2.4.6"},
            "fastdnn_blas_threads": 1, "fastdnn_command": "pytest bench --benchmark-enable",
        },
        "commit_info": {"id": "abcdef1234567890", "dirty": False},
        "datetime": "2026-01-01T00:00:00", "version": "5.3.1",
        "benchmarks": [
            _bench("forward|L2_n2-4-1_m8_tanh|float64", "jit", 2e-6),
            _bench("forward|L2_n2-4-1_m8_tanh|float64", "numpy", 4.2e-6),
            _bench("forward|L2_n2-4-1_m8_tanh|float64", "naive", 162e-6),
            _bench("fit|W1_planar_2-4-1_m400|float64", "jit", 0.025, steps=1000),
            _bench("fit|W1_planar_2-4-1_m400|float64", "naive", 0.120, steps=20),
            _bench("fit|W1_planar_2-4-1_m400|float64", "torch", 0.1, steps=1000),
        ],
    }  # fmt: skip
    expected_rows = [
        "| kernel | shape | dtype | jit median | naive | numpy | torch |",
        "|---|---|---|---|---|---|---|",
        "| forward | L2_n2-4-1_m8_tanh | float64 | 2 us | 81x | 2.1x | - |",
        "| fit | W1_planar_2-4-1_m400 | float64 | 25 us/step | 240x | - | 4.0x |",
    ]
    text = ratios.ratio_table(data)
    assert text.splitlines()[:4] == expected_rows
    assert "Test CPU, 2 logical cores" in text
    assert "BLAS threads: 1" in text
    assert "numpy 2.4.6" in text
    assert "Command: `pytest bench --benchmark-enable`" in text
    # The script: same table on stdout.
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "ratios.py"), str(path)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert proc.stdout == text


# ---------------------------------------------------------------- fastdnn bench
def test_fastdnn_bench_command_runs(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "fastdnn.bench", "--workloads", "W1", "--repeats", "1",
         "--steps-scale", "0.01", "--json", str(out_json)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("workload"))
    for column in ("jit/step", "naive", "numpy", "course-numpy"):
        assert column in header
    assert any(line.startswith("W1_planar_2-4-1_m400") for line in lines)
    assert any(line.startswith("machine:") and "BLAS threads 1" in line for line in lines)
    result = json.loads(out_json.read_text())["results"][0]
    assert result["workload"] == "W1_planar_2-4-1_m400" and result["steps"] == 10
    assert set(result["median_s_per_step"]) >= {"naive", "numpy", "jit", "course-numpy"}


def test_fastdnn_bench_rejects_unknown_workload():
    proc = subprocess.run([sys.executable, "-m", "fastdnn.bench", "--workloads", "W9"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2
    assert "W9" in proc.stderr and "W1" in proc.stderr


def test_fastdnn_bench_warms_each_contender_up_with_a_timed_length_run():
    """The step count picks jit's path (W2's 50 steps: the Gram path, 1 step: not): a 1-step
    warm-up left the timed run to compile it (193 ms a step on an empty cache, not 1.5)."""
    calls = []
    runners = {"a": lambda n: calls.append(("a", n)), "b": lambda n: calls.append(("b", n))}
    per_step = fastdnn_bench._time_contenders(runners, {"a": 50, "b": 7}, repeats=1)
    assert calls[:2] == [("a", 50), ("b", 7)]  # the untimed warm-up, before any timing
    assert calls[2:] == [("a", 1), ("a", 50), ("b", 1), ("b", 7)]
    assert set(per_step) == {"a", "b"}


def test_fastdnn_bench_writes_fresh_memory_before_each_timed_run(monkeypatch):
    """On a VM that gives free memory back to its host, a contender's large buffers waited on
    the host whenever the others had run for seconds (W5 float32: 1.0 or 3.2-4.3 ms a step):
    each timed run now follows a write of fresh memory, after its idle gap."""
    calls = []
    monkeypatch.setattr(fastdnn_bench, "warm_memory", lambda n: calls.append(("warm", n)))
    runners = {"a": lambda n: calls.append(("a", n)), "b": lambda n: calls.append(("b", n))}
    fastdnn_bench._time_contenders(runners, {"a": 5, "b": 7}, repeats=2, warm=1000)
    timed = calls[2:]  # after the untimed compile runs
    assert timed == [("warm", 1000), ("a", 1), ("a", 5), ("warm", 1000), ("b", 1), ("b", 7)] * 2


def test_warm_bytes_cover_a_copy_within_a_quarter_of_memory(monkeypatch):
    X = np.empty((10, 30))
    monkeypatch.setattr("fastdnn._validation.memory_limit", lambda: (1 << 40, "test"))
    assert fastdnn_bench.warm_bytes(X) == 2 * X.nbytes
    monkeypatch.setattr("fastdnn._validation.memory_limit", lambda: (4000, "test"))
    assert fastdnn_bench.warm_bytes(X) == 1000
    monkeypatch.setattr("fastdnn._validation.memory_limit", lambda: None)
    assert fastdnn_bench.warm_bytes(np.broadcast_to(X[:1, :1], (2**20, 2**20))) == 2**30


def test_warm_memory_writes_every_page_and_keeps_nothing():
    import resource
    import tracemalloc

    # Above glibc's largest mmap threshold (32 MiB on 64-bit): a smaller block can come from
    # the heap, already faulted in, once an earlier large free raised the threshold (16 MiB
    # gave 0 faults after the same worker had freed 30 MB).
    n = 64 << 20
    tracemalloc.start()
    try:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        fastdnn_bench.warm_memory(n)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak >= n and current < 4096  # allocated, then freed
    # Every page was faulted in: at least one fault per 2 MiB (a transparent huge page).
    assert faults >= n // (2 << 20)
    fastdnn_bench.warm_memory(0)  # too little to touch: nothing to do


def test_fastdnn_bench_reports_the_threads_that_ran(tmp_path):
    from fastdnn._blas import usable_cores

    out_json = tmp_path / "bench.json"
    threads = usable_cores() + 1  # clamped, with one warning
    proc = subprocess.run(
        [sys.executable, "-m", "fastdnn", "bench", "--workloads", "W1", "--repeats", "1",
         "--steps-scale", "0.01", "--threads", str(threads), "--json", str(out_json)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning") == 1 and "using" in proc.stderr, proc.stderr
    assert f"BLAS threads {usable_cores()} " in proc.stdout
    assert json.loads(out_json.read_text())["machine"]["blas_threads"] == usable_cores()
    for flag, value in (("--threads", "-1"), ("--steps-scale", "inf"), ("--repeats", "0")):
        proc = subprocess.run([sys.executable, "-m", "fastdnn", "bench", flag, value],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 2 and f"argument {flag}: must be" in proc.stderr, proc.stderr


def test_gemm_floor_prints_each_workload_with_its_floors_and_rounds(tmp_path):
    # a process of its own: the script sets the process's BLAS threads
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gemm_floor.py"), "--workloads", "W1",
         "--dtype", "float64", "--rounds", "2", "--show-rounds"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    row = next(line for line in lines if line.startswith("W1_"))
    floor, rule, jit = (float(x.rstrip("us")) for x in row.split()[2:5])
    assert 0 < floor <= rule and jit > 0  # the floor takes the best library per product
    rounds = next(line for line in lines if "jit rounds" in line).split(":")[1].split(",")
    assert len(rounds) == 2 and all(float(r) > 0 for r in rounds)


def test_torch_gpu_script_runs_or_says_what_it_needs(tmp_path):
    """bench/torch_gpu.py: a table on a CUDA machine, else a one-line error before any work."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "torch_gpu.py"), "--workloads", "W1",
         "--dtype", "float32", "--repeats", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    try:
        import torch
    except ImportError:
        assert proc.returncode == 2 and "PyTorch is not installed" in proc.stderr, proc.stderr
        return
    not_a_device = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "torch_gpu.py"), "--device", "foo"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert not_a_device.returncode == 2, not_a_device.stderr
    assert "--device must be a CUDA device PyTorch can use; got 'foo'" in not_a_device.stderr
    if not torch.cuda.is_available():
        assert proc.returncode == 2, proc.stderr
        assert "--device must be a CUDA device PyTorch can use; got 'cuda'" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("W1_"))
    assert row.split()[1] == "float32" and row.split()[-2].endswith("x")


def test_softmax_workload_data(common):
    """W5's recipe (X uniform, Y random one-hot), the same in common.py and its mirror; built
    for 300 examples (the recipe depends on m only through the draws' length)."""
    w, mirror = common.WORKLOADS["W5"], fastdnn_bench.WORKLOADS["W5"]
    X, Y = common.workload_data(dataclasses.replace(w, m=300), "float64")
    Xm, Ym = fastdnn_bench.workload_data(mirror._replace(m=300), "float64")
    np.testing.assert_array_equal(X, Xm)
    np.testing.assert_array_equal(Y, Ym)
    assert X.shape == (784, 300) and Y.shape == (10, 300)
    np.testing.assert_array_equal(Y.sum(axis=0), 1.0)  # one-hot columns
    assert set(np.unique(Y)) == {0.0, 1.0} and len(set(Y.argmax(axis=0))) == 10
    X32, Y32 = common.workload_data(dataclasses.replace(w, m=300), "float32")
    np.testing.assert_array_equal(X32, X.astype(np.float32))
    np.testing.assert_array_equal(Y32, Y)


def test_torch_adam_reference_matches_fastdnn():
    pytest.importorskip("torch", reason="PyTorch is optional")
    rng = np.random.default_rng(0)
    X = rng.random((3, 12))
    Y = np.eye(4)[:, rng.integers(0, 4, 12)]
    net = fastdnn.DNN([3, 5, 4], output="softmax", seed=0)
    params = {k: v.copy() for k, v in net.params.items()}
    # Full batch: fastdnn shuffles mini-batches with its own generator.
    trained, costs = _references.train_torch_adam(X, Y, params, 0.01, 3, "relu", cost_every=1,
                                                  threads=1)  # fmt: skip
    net.fit(X, Y, 0.01, num_iterations=3, cost_every=1, optimizer="adam")
    for key in params:
        # torch.optim.Adam adds eps after the bias correction, as the course: same steps.
        assert_allclose(trained[key], net.params[key], rtol=1e-9, atol=1e-12, err_msg=key)
    assert_allclose(costs, net.history_.costs, rtol=1e-10)


def test_mlp_reference_runs_one_epoch_of_the_steps():
    pytest.importorskip("sklearn", reason="scikit-learn is optional")
    rng = np.random.default_rng(0)
    rows, labels = rng.random((100, 6)), rng.integers(0, 3, 100)
    mlp = _references.train_mlp(rows, labels, (8, 4), 0.001, steps=4, batch_size=16)
    assert mlp.n_iter_ == 1 and mlp.t_ == 4 * 16  # 4 batches of 16 examples
    assert [c.shape for c in mlp.coefs_] == [(6, 8), (8, 4), (4, 3)]


def test_cold_start_keeps_bytecode_out_of_the_source_folders(tmp_path, monkeypatch):
    # A user's installed package has its bytecode; a machine that sets PYTHONDONTWRITEBYTECODE
    # made every timed process compile fastdnn from source. The tool's processes keep bytecode,
    # in its own temporary folder, never beside anyone's sources.
    cold_start = _load("fastdnn_bench_cold_start_smoke", "bench/cold_start.py")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    source = tmp_path / "src"
    source.mkdir()
    (source / "some_module.py").write_text("VALUE = 1\n")
    folder = tmp_path / "tool"
    folder.mkdir()
    env = cold_start.child_env(folder)
    env["PYTHONPATH"] = str(source)
    assert "PYTHONDONTWRITEBYTECODE" not in env
    cold_start.run([sys.executable, "-c", "import some_module"], folder, env)
    assert not (source / "__pycache__").exists()
    assert list((folder / "pycache").rglob("some_module*.pyc"))
