"""FASTDNN_* environment variables: validated once, in one place, the same way every time."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import threadpoolctl

from fastdnn import _blas, _env

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, _env.Settings(cache=True, fast_math=False, blas="default", num_threads=None)),
        ({"FASTDNN_CACHE": "", "FASTDNN_BLAS": "", "FASTDNN_NUM_THREADS": " "}, _env.Settings()),
        ({"FASTDNN_CACHE": "OFF", "FASTDNN_FASTMATH": "yes"}, _env.Settings(False, True)),
        ({"FASTDNN_BLAS": " Auto "}, _env.Settings(blas="auto")),
        ({"FASTDNN_BLAS": "default"}, _env.Settings()),
        ({"FASTDNN_NUM_THREADS": "3"}, _env.Settings(num_threads=3)),
    ],
)
def test_valid_values(environ, expected):
    assert _env.read(environ) == expected


def test_the_default_blas_rule_has_one_spelling():
    # "auto" (time both libraries) and "default" (the deterministic rule) used to be mixed
    # up: an unset FASTDNN_BLAS meant "auto" in gemm_functions and "default" in choose.
    assert _env.BLAS_DEFAULT == "default" == _env.read({}).blas
    assert set(_env.BLAS_RULES) == {"default", "auto", "numpy", "scipy", "mkl", "numba", "loops"}


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [
        ("FASTDNN_CACHE", "maybe", "1, true, yes, on, 0, false, no, off"),
        ("FASTDNN_FASTMATH", "2", "1, true, yes, on, 0, false, no, off"),
        ("FASTDNN_BLAS", "nonsense", "default, auto, numpy, scipy, mkl, numba, loops"),
        ("FASTDNN_BLAS", "openblas", "default, auto, numpy, scipy, mkl, numba, loops"),
        ("FASTDNN_NUM_THREADS", "abc", "a positive integer"),
        ("FASTDNN_NUM_THREADS", "0", "a positive integer"),
        ("FASTDNN_NUM_THREADS", "-2", "a positive integer"),
        ("FASTDNN_NUM_THREADS", "2_0", "a positive integer"),
        ("FASTDNN_NUM_THREADS", "\u0662", "a positive integer"),
        ("FASTDNN_NUM_THREADS", "+2", "a positive integer"),
        ("FASTDNN_NUM_THREADS", "2.5", "a positive integer"),
    ],
)
def test_invalid_values_name_the_variable_the_value_and_the_valid_values(name, value, valid):
    with pytest.raises(ValueError) as info:
        _env.read({name: value})
    message = str(info.value)
    assert f"environment variable {name}={value!r} is not valid" in message
    assert valid in message


@pytest.mark.parametrize(
    ("name", "value"), [("FASTDNN_NUM_THREADS", "abc"), ("FASTDNN_BLAS", "nonsense")]
)
def test_an_invalid_variable_stops_the_import_the_same_way_every_time(name, value):
    # FASTDNN_NUM_THREADS=abc used to fail the first fit only (the second went ahead), and
    # FASTDNN_BLAS=nonsense was silently the default.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTDNN_")}
    env[name] = value
    code = "import fastdnn; print('imported')"
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           timeout=120) for _ in range(2)]  # fmt: skip
    for run in runs:
        assert run.returncode == 1 and "imported" not in run.stdout
    last_lines = {run.stderr.strip().splitlines()[-1] for run in runs}
    assert last_lines == {
        f"ValueError: environment variable {name}={value!r} is not valid: " + _message_tail(name)
    }


@pytest.mark.parametrize("how", ["console-script", "python-m"])
def test_the_command_says_an_invalid_variable_in_one_line_and_exits_2(how, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTDNN_")}
    env["FASTDNN_NUM_THREADS"] = "abc"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if how == "python-m":
        command = [sys.executable, "-m", "fastdnn", "info"]
    else:  # what the installed `fastdnn` script does, under that name
        script = tmp_path / "fastdnn"
        script.write_text("import sys\nfrom fastdnn.cli import main\nsys.exit(main())\n")
        command = [sys.executable, str(script), "info"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "fastdnn: error: environment variable FASTDNN_NUM_THREADS='abc' is not valid: "
        + _message_tail("FASTDNN_NUM_THREADS")
    ]


def _message_tail(name):
    with pytest.raises(ValueError) as info:
        _env.read({name: "x!"})
    return str(info.value).split(": ", 1)[1]


_CLAMP = """
import warnings, numpy as np, fastdnn
from threadpoolctl import threadpool_info
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    net = fastdnn.DNN([2, 1], backend="numpy", seed=0)
    for _ in range(2):
        net.fit(np.ones((2, 4)), np.array([[0, 1, 0, 1]]), learning_rate=0.1, num_iterations=1)
print([str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)])
print(sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}))
"""


def test_more_threads_than_cores_are_clamped_with_one_warning():
    # FASTDNN_NUM_THREADS=99999 used to set 64 BLAS threads on 2 cores.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTDNN_")}
    env["FASTDNN_NUM_THREADS"] = "99999"
    run = subprocess.run([sys.executable, "-c", _CLAMP], env=env, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    warned, threads = run.stdout.strip().splitlines()
    cores = _blas.usable_cores()
    assert warned == str(
        [
            f"FASTDNN_NUM_THREADS=99999 BLAS threads is more than the {cores} cores this process "
            f"may run on: using {cores}"
        ]  # fmt: skip
    )
    assert threads == str([cores])


def test_set_num_threads_checks_types_and_clamps():
    from threadpoolctl import threadpool_info

    before = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    with pytest.raises(TypeError, match=r"n must be a positive integer number of threads; got str"):
        _blas.set_num_threads("2")
    with pytest.raises(ValueError, match=r"n must be a positive integer number of threads; got 0"):
        _blas.set_num_threads(0)
    try:
        with pytest.warns(RuntimeWarning, match=r"n=1000000 BLAS threads is more than the") as w:
            assert _blas.set_num_threads(10**6) == _blas.usable_cores()
        assert w[0].filename == __file__  # the user's line, not fastdnn's
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert _blas.set_num_threads(1) == 1
    finally:
        _blas.set_num_threads(min(before, _blas.usable_cores()))


_THREADS = """
import sys, numpy as np, fastdnn
from threadpoolctl import threadpool_info
if sys.argv[1] == "call":
    fastdnn.set_num_threads(2)
net = fastdnn.DNN([2, 1], backend="numpy", seed=0)
net.fit(np.ones((2, 4)), np.array([[0, 1, 0, 1]]), learning_rate=0.1, num_iterations=1)
print(sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}))
"""


@pytest.mark.skipif(_blas.usable_cores() < 2, reason="one core: every choice is one thread")
@pytest.mark.parametrize(
    ("variables", "mode", "expected"),
    [
        ({}, "fit", "default"),  # half the cores
        ({"OPENBLAS_NUM_THREADS": "2"}, "fit", 2),  # the user chose through OpenBLAS
        ({"FASTDNN_NUM_THREADS": "2"}, "fit", 2),
        ({"FASTDNN_NUM_THREADS": "1"}, "call", 2),  # an explicit call wins over the variable
    ],
)
def test_default_blas_threads_leave_room_for_other_work(variables, mode, expected):
    # Two BLAS threads on a 2-core machine with one core busy: the cat net's step went from
    # ~10 ms (one thread) to 170-300 ms. Training now takes half the cores unless told.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTDNN_")}
    for name in _blas.BLAS_THREAD_VARIABLES:
        env.pop(name, None)
    env.update(variables)
    run = subprocess.run([sys.executable, "-c", _THREADS, mode], env=env, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    want = max(1, _blas.usable_cores() // 2) if expected == "default" else expected
    assert run.stdout.strip() == str([want])


_THREADS_FROM_THREADS = """
import sys, threading, warnings, numpy as np, fastdnn
from fastdnn import _blas
from threadpoolctl import threadpool_info, threadpool_limits

def openblas():
    return sorted({i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"})

def first_fit():
    net = fastdnn.DNN([2, 1], backend="numpy", seed=0)
    net.fit(np.ones((2, 4)), np.array([[0, 1, 0, 1]]), learning_rate=0.1, num_iterations=1)

case = sys.argv[1]
if case == "worker fits first":
    # The first fit (which sets fastdnn's default) runs in a thread that stays alive.
    done, hold = threading.Event(), threading.Event()
    worker = threading.Thread(target=lambda: (first_fit(), done.set(), hold.wait()))
    worker.start(); done.wait()
    print(fastdnn.set_num_threads(2), openblas(), _blas.current_threads())
    hold.set(); worker.join()
elif case == "another thread holds openblas":
    _blas._library_paths()  # both OpenBLAS builds loaded, so the limit reaches both
    threadpool_limits(1, user_api="blas")  # the main thread takes control (threadpoolctl 3.8)
    out = []
    def call():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out.append(fastdnn.set_num_threads(2))
        out.append([str(w.message) for w in caught])
    worker = threading.Thread(target=call); worker.start(); worker.join()
    print(out[0], openblas(), _blas.current_threads(), out[1])
elif case == "race":
    # The user's set_num_threads in the main thread while a worker's first fit sets the default.
    lost = 0
    for _ in range(20):
        _blas.apply_env_threads.done = False
        _blas._threads_set.clear()
        threadpool_limits(1, user_api="blas")
        start = threading.Barrier(2)
        worker = threading.Thread(target=lambda: (start.wait(), first_fit()))
        worker.start(); start.wait()
        fastdnn.set_num_threads(2)
        worker.join()
        lost += openblas() != [2] or _blas.current_threads() != 2
    print(lost)
"""


def _threads_run(case):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTDNN_")}
    for name in _blas.BLAS_THREAD_VARIABLES:
        env.pop(name, None)
    run = subprocess.run([sys.executable, "-c", _THREADS_FROM_THREADS, case], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip()


@pytest.mark.skipif(_blas.usable_cores() < 2, reason="one core: every choice is one thread")
def test_a_first_fit_in_a_worker_thread_leaves_the_threads_to_the_main_thread():
    # threadpoolctl 3.8 lets only the first Python thread that sets OpenBLAS's threads set them
    # while it lives; fastdnn's default, set in the worker, kept the main thread out (its
    # set_num_threads(2) was ignored while fastdnn recorded 2).
    assert _threads_run("worker fits first") == "2 [2] 2"


@pytest.mark.skipif(_blas.usable_cores() < 2, reason="one core: every choice is one thread")
@pytest.mark.skipif(
    not hasattr(threadpoolctl.OpenBLASController, "clear_controlling_thread"),
    reason="threadpoolctl < 3.8: any Python thread sets OpenBLAS's threads",
)
def test_set_num_threads_that_does_not_take_says_so_and_reports_what_is():
    threads, openblas, current, warned = _threads_run("another thread holds openblas").split(" ", 3)
    assert (threads, openblas, current) == ("1", "[1]", "1")
    assert "n=2 did not take: OpenBLAS keeps 1 thread. threadpoolctl lets one Python" in warned


@pytest.mark.skipif(_blas.usable_cores() < 2, reason="one core: every choice is one thread")
def test_set_num_threads_is_not_lost_to_a_first_fit_running_at_the_same_time():
    assert _threads_run("race") == "0"


def test_a_warning_given_while_fastdnn_is_imported_names_the_users_import(tmp_path):
    # The import system's frames are skipped by warnings.warn and were counted by fastdnn's
    # stacklevel: the FASTDNN_FASTMATH warning named fastdnn/_native.py (a helper's review).
    script = tmp_path / "user_script.py"
    script.write_text("import fastdnn\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTDNN_")}
    env.update(FASTDNN_FASTMATH="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    run = subprocess.run([sys.executable, "-W", "always", str(script)], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith(f"{script}:1: UserWarning: FASTDNN_FASTMATH is on"), run.stderr
