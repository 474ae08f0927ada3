"""The ``fastdnn`` command, run as users run it: ``python -m fastdnn ...`` in a subprocess."""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastdnn import DNN

REPO = Path(__file__).resolve().parents[1]
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def fastdnn(*args, cwd, timeout=300, memory_cap=None):
    """Run ``python -m fastdnn *args``; the package is taken from this checkout.

    ``memory_cap``: bytes of address space (RLIMIT_AS) the command may use, so that a
    regression fails with a MemoryError instead of exhausting the machine.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))

    return subprocess.run(
        [sys.executable, "-m", "fastdnn", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        preexec_fn=cap if memory_cap else None,
    )  # fmt: skip


def _data_dir():
    """$FASTDNN_DATA, /work/shared/data, or ../shared/data beside the repository root."""
    candidates = [Path(os.environ["FASTDNN_DATA"])] if os.environ.get("FASTDNN_DATA") else []
    candidates += [Path("/work/shared/data"), REPO.parent / "shared" / "data"]
    for folder in candidates:
        if all((folder / name).is_file() for name in CAT_FILES):
            return folder
    return None


def _accuracy(text, prefix):
    match = re.search(prefix + r": ([0-9.]+) %", text)
    assert match, text
    return float(match.group(1))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small separable problem as .npz, as .csv (label in the middle), and unlabeled .csv."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.random((4, 200))
    Y = (X[0] + X[1] > 1.0).astype(np.float64).reshape(1, -1)
    np.savez(folder / "train.npz", X=X, Y=Y)
    header = "f1,f2,label,f3,f4\n"
    rows = [
        f"{a!r},{b!r},{int(y)},{c!r},{d!r}\n"
        for (a, b, c, d), y in zip(X.T.tolist(), Y[0], strict=True)
    ]
    (folder / "train.csv").write_text(header + "".join(rows))
    unlabeled = "".join(",".join(map(repr, col)) + "\n" for col in X.T[:30].tolist())
    (folder / "new.csv").write_text("f1,f2,f3,f4\n" + unlabeled)
    return folder


# ----------------------------------------------------------------------------- commands
def test_demo(tmp_path):
    result = fastdnn("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _accuracy(result.stdout, "accuracy") >= 88.0


def test_demo_with_one_blas_thread(tmp_path):
    result = fastdnn("demo", "--threads", "1", "--iterations", "200", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "trained 200 iterations" in result.stdout
    assert "(1 BLAS thread)" in result.stdout  # the timing says what it depends on


def test_demo_compiles_only_its_own_path_and_stops_on_ctrl_c_while_compiling(monkeypatch, capsys):
    """The demo's first fit is one step of a spare net (compiling what the demo runs, not
    every path as fastdnn.warmup does); Ctrl-C there stops the demo, not the spare fit alone."""
    from fastdnn.cli import main

    calls = []
    real_fit = DNN.fit

    def fit(self, *args, **kwargs):
        calls.append(kwargs["num_iterations"])
        history = real_fit(self, *args, **kwargs)
        if len(calls) == 1:
            history.stop_reason = "interrupted"  # as a Ctrl-C during compilation leaves it
        return history

    monkeypatch.setattr(DNN, "fit", fit)
    monkeypatch.setattr("fastdnn.warmup", lambda *a, **k: pytest.fail("warmup compiles it all"))
    assert main(["demo", "--iterations", "50"]) == 130
    assert calls == [1]  # the spare net's step, and no training after the interrupt
    assert "fastdnn demo: interrupted" in capsys.readouterr().err


def test_info(tmp_path):
    result = fastdnn("info", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fastdnn ") and "numba" in result.stdout
    # the CPU line says which CPU and what the compiled code targets (speed tables need it)
    from fastdnn._blas import cpu_name
    from fastdnn._numba import compile_target

    cpu = next(line for line in result.stdout.splitlines() if line.startswith("cpu "))
    assert cpu_name() in cpu and f"compiled code for {compile_target()}" in cpu
    # and when full batches split their examples between the threads (fastdnn.steppers.split)
    from fastdnn.steppers.split import rule_summary

    assert f"split   {rule_summary()}\n" in result.stdout


def test_info_says_what_training_threads_will_be(monkeypatch):
    # It printed "FASTDNN_NUM_THREADS=2; unset, training uses 1" with the variable set.
    from fastdnn import _env
    from fastdnn._blas import BLAS_THREAD_VARIABLES, default_threads, usable_cores
    from fastdnn.cli import _info

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_env, "SETTINGS", _env.Settings())
    assert _info._threads_line().startswith(f"training uses {default_threads()} (half the")
    monkeypatch.setattr(_env, "SETTINGS", _env.Settings(num_threads=10**9))
    cores = usable_cores()
    assert _info._threads_line() == (
        f"training uses {cores}: FASTDNN_NUM_THREADS=1000000000 (clamped to the {cores} "
        "usable cores)"
    )
    monkeypatch.setattr(_env, "SETTINGS", _env.Settings())
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _info._threads_line().endswith("own setting: OMP_NUM_THREADS=3")


def test_bench_is_wired(tmp_path):
    """``fastdnn bench`` takes its flags from fastdnn.bench (or says it is missing)."""
    result = fastdnn("bench", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: fastdnn bench" in result.stdout


def test_train_then_predict_npz(tmp_path, data):
    result = fastdnn("train", "--data", data / "train.npz", "--layers", "6", "--lr", "0.5",
                     "--iterations", "300", "--cost-every", "100", "--seed", "1",
                     "--out", "model.npz", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Cost after iteration 100:" in result.stdout
    assert "Cost after iteration 200:" in result.stdout
    train_accuracy = _accuracy(result.stdout, "training accuracy")
    assert train_accuracy >= 80.0
    assert "model saved to model.npz" in result.stdout
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # the exact name; no temporary left
    assert DNN.load(tmp_path / "model.npz").layer_dims == [4, 6, 1]

    result = fastdnn("predict", "--model", "model.npz", "--data", data / "train.npz",
                     "--out", "pred.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == "prediction,probability" and len(lines) == 1 + 200
    assert {line.split(",")[0] for line in lines[1:]} <= {"0", "1"}
    assert _accuracy(result.stdout, "accuracy on .*train.npz") == train_accuracy

    result = fastdnn("predict", "--model", "model.npz", "--data", data / "train.npz",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines  # the CSV alone on stdout
    assert _accuracy(result.stderr, "accuracy on .*train.npz") == train_accuracy


def test_train_then_predict_csv(tmp_path, data):
    result = fastdnn("train", "--data", data / "train.csv", "--label", "label", "--layers",
                     "5,3", "--lr", "0.3", "--epochs", "20", "--batch-size", "32", "--dtype",
                     "float32", "--cost-every", "50", "--seed", "2", "--out", "m.npz",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "X (4, 200), Y (1, 200)" in result.stdout
    net = DNN.load(tmp_path / "m.npz")
    assert net.layer_dims == [4, 5, 3, 1] and net.dtype == np.float32
    assert net.feature_names == ["f1", "f2", "f3", "f4"] and net.label_names == ["label"]

    result = fastdnn("predict", "--model", "m.npz", "--data", data / "train.csv", "--label",
                     "label", "--out", "p.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1 + 200
    assert 0.0 <= _accuracy(result.stdout, "accuracy on .*train.csv") <= 100.0

    # A CSV with exactly the model's features is unlabeled: predictions, no accuracy.
    result = fastdnn("predict", "--model", "m.npz", "--data", data / "new.csv",
                     "--out", "new_pred.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "new_pred.csv").read_text().splitlines()) == 1 + 30
    assert "accuracy" not in result.stdout + result.stderr


@pytest.mark.skipif(_data_dir() is None, reason="the course's cat .h5 files are not available "
                    "(set FASTDNN_DATA to the folder holding them)")  # fmt: skip
def test_train_then_predict_cat_h5(tmp_path):
    folder = _data_dir()
    result = fastdnn("train", "--data", folder / CAT_FILES[0], "--layers", "7",
                     "--iterations", "3", "--cost-every", "1", "--seed", "1",
                     "--out", "cat.npz", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "X (12288, 209), Y (1, 209)" in result.stdout
    assert "Cost after iteration 2:" in result.stdout
    result = fastdnn("predict", "--model", "cat.npz", "--data", folder / CAT_FILES[1],
                     "--out", "p.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1 + 50
    assert 0.0 <= _accuracy(result.stdout, "accuracy on .*test_catvnoncat.h5") <= 100.0


# ----------------------------------------------------------------------------- user mistakes
@pytest.fixture(scope="module")
def model3(tmp_path_factory):
    """A saved model with 3 inputs (the data above has 4)."""
    path = tmp_path_factory.mktemp("model") / "three.npz"
    DNN([3, 2, 1], seed=0).save(path)
    return path


def _mistakes(data, model3, tmp):
    (tmp / "damaged.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(tmp / "transposed.npz", X=np.ones((4, 10)), Y=np.ones((10, 1)))
    train = ["train", "--data", data / "train.npz", "--out", tmp / "m.npz"]
    return {
        "missing data file": (["train", "--data", tmp / "nope.npz", "--out", tmp / "m.npz"],
                              "file not found: "),
        "missing model file": (["predict", "--model", tmp / "nope.npz", "--data",
                                data / "train.npz"], "--model: file not found"),
        "bad --layers": ([*train, "--layers", "20,x,5"], "argument --layers"),
        "zero in --layers": ([*train, "--layers", "20,0"], "argument --layers"),
        "none among --layers": ([*train, "--layers", "20", "none", "5"],
                                "--layers: 'none' (logistic regression, no hidden layer) "
                                "stands alone"),
        "odd digits in --layers": ([*train, "--layers", "2_0"], "argument --layers"),
        "huge --seed": ([*train, "--seed", str(2**128)], "argument --seed: must be an integer "
                        "in [0, 2**128)"),
        "negative --lr": ([*train, "--lr", "-0.1"], "argument --lr: must be a positive"),
        "text --lr": ([*train, "--lr", "fast"], "argument --lr"),
        "bad --iterations": ([*train, "--iterations", "0"], "argument --iterations"),
        "bad --hidden": ([*train, "--hidden", "swish"], "argument --hidden: invalid choice"),
        "bad --threads": ([*train, "--threads", "0"], "argument --threads: must be a positive"),
        "missing --out folder": (["train", "--data", data / "train.npz", "--out",
                                  tmp / "no" / "m.npz"], "--out: cannot write"),
        "unknown label column": (["train", "--data", data / "train.csv", "--label", "target",
                                  "--out", tmp / "m.npz"], "unknown label column 'target'"),
        "bad shape": (["train", "--data", tmp / "transposed.npz", "--out", tmp / "m.npz"],
                      "did you store Y.T"),
        "damaged model": (["predict", "--model", tmp / "damaged.npz", "--data",
                           data / "train.npz"], "cannot load a fastdnn model"),
        "n_x mismatch": (["predict", "--model", model3, "--data", data / "train.npz"],
                         "takes n_x = 3 features per example"),
        "n_x mismatch csv": (["predict", "--model", model3, "--data", data / "train.csv"],
                             "takes n_x = 3 features per example"),
        "--iterations and --epochs": ([*train, "--iterations", "10", "--epochs", "5"],
                                      "argument --epochs: not allowed with argument --iterations"),
        "unknown flag": ([*train, "--hiden", "tanh"],
                         "unrecognized arguments: --hiden tanh (see 'fastdnn train --help')"),
        "csv header over the csv field limit": (["train", "--data", _long_header(tmp), "--out",
                                                 tmp / "m.npz"], "the header row cannot be read"),
        "bad --optimizer": ([*train, "--optimizer", "sgd"],
                            "argument --optimizer: invalid choice: 'sgd'"),
        "--keep-prob 0": ([*train, "--keep-prob", "0"],
                          "argument --keep-prob: must be a probability in (0, 1]; got '0'"),
        "--beta 1": ([*train, "--beta1", "1"], "argument --beta1: must be a number in [0, 1)"),
        "negative --lambd": ([*train, "--lambd", "-0.1"],
                             "argument --lambd: must be a finite number >= 0; got '-0.1'"),
        "--validation-fraction 1": ([*train, "--early-stopping", "--validation-fraction", "1"],
                                    "argument --validation-fraction: must be a number in (0, 1)"),
        "--patience 0": ([*train, "--patience", "0"], "argument --patience: must be a positive"),
        "--patience without --early-stopping": ([*train, "--patience", "3"],
                                                "--patience is an early-stopping setting and does"),
        "--resume with network flags": ([*train, "--resume", model3, "--hidden", "tanh",
                                         "--standardize"],
                                        "--hidden, --standardize cannot be given with --resume"),
        "--resume a missing file": ([*train, "--resume", tmp / "nope.npz"],
                                    "--resume: file not found"),
        "--resume n_x mismatch": ([*train, "--resume", model3], "takes n_x = 3 features"),
        "--out is the --resume file": (["train", "--data", data / "train.npz", "--resume",
                                        model3, "--out", model3], "is the --resume file"),
        "--resume with --seed 0": ([*train, "--resume", model3, "--seed", "0"],
                                   "--seed cannot be given with --resume"),
        "--resume a course-style file": ([*train, "--resume", _course_style(tmp)],
                                         "holds parameters only (a course-style W1, b1, ..."),
        "--resume without its label column": (["train", "--data", data / "train.csv",
                                               "--resume", _named_softmax(tmp), "--out",
                                               tmp / "m.npz"],
                                              "not its label column's (class indices) or"),
    }  # fmt: skip


def _course_style(tmp):
    """W1, b1, ... only, as np.savez(**parameters) writes from the course's notebooks."""
    params = {"W1": np.ones((2, 4)), "b1": np.zeros((2, 1)), "W2": np.ones((1, 2)),
              "b2": np.zeros((1, 1))}  # fmt: skip
    np.savez(tmp / "course.npz", **params)
    return tmp / "course.npz"


def _named_softmax(tmp):
    """A softmax model that knows its features' names but not its label column's (class
    indices in one column: one label, three outputs)."""
    net = DNN([4, 3, 3], output="softmax", seed=0)
    net.feature_names = ["f1", "f2", "f3", "f4"]
    net.save(tmp / "softmax.npz")
    return tmp / "softmax.npz"


def _long_header(tmp):
    (tmp / "long.csv").write_text("a" * 140_000 + ",y\n1,0\n")  # csv's field limit: 131,072
    return tmp / "long.csv"


MISTAKES = ["missing data file", "missing model file", "bad --layers", "zero in --layers",
            "negative --lr", "text --lr", "bad --iterations", "bad --hidden", "bad --threads",
            "missing --out folder", "unknown label column", "bad shape", "damaged model",
            "n_x mismatch", "n_x mismatch csv", "--iterations and --epochs", "unknown flag",
            "csv header over the csv field limit", "bad --optimizer", "--keep-prob 0",
            "--beta 1", "negative --lambd", "--validation-fraction 1", "--patience 0",
            "--patience without --early-stopping",
            "--resume with network flags", "--resume a missing file", "--resume n_x mismatch",
            "--out is the --resume file", "--resume with --seed 0", "--resume a course-style file",
            "--resume without its label column"]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES)
def test_user_mistakes_exit_2_with_one_line(tmp_path, data, model3, case):
    args, fragment = _mistakes(data, model3, tmp_path)[case]
    result = fastdnn(*args, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"fastdnn {args[0]}: error: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert "Cost after" not in result.stdout  # flags and files are checked before training
    assert not (tmp_path / "m.npz").exists()


def _one_error_line(result, command, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"fastdnn {command}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------- hostile input
def test_an_output_name_ending_in_a_slash_is_a_folder(tmp_path, data):
    # Path("new/") drops the slash: a file named "new" used to be written.
    for command in (["train", "--data", str(data / "train.npz"), "--iterations", "2"],
                    ["demo", "--iterations", "2", "--plot"]):  # fmt: skip
        flag = "--plot" if command[0] == "demo" else "--out"
        args = [*command, "new/"] if flag == "--plot" else [*command, "--out", "new/"]
        result = fastdnn(*args, cwd=tmp_path)
        _one_error_line(result, command[0], f"{flag}: cannot write 'new/': it names a folder")
        assert not (tmp_path / "new").exists()


def test_predict_refuses_non_finite_outputs_and_writes_nothing(tmp_path, data):
    # Finite parameters near 1e308 overflow the forward pass: "0,nan" rows used to be written.
    huge = {"W1": np.full((3, 4), 1e308), "b1": np.zeros((3, 1)),
            "W2": np.array([[1e308, -1e308, 1.0]]), "b2": np.zeros((1, 1))}  # fmt: skip
    with np.errstate(over="ignore"):  # the finiteness check's sum of small arrays overflows
        DNN.from_params(huge).save(tmp_path / "huge.npz")
    result = fastdnn("predict", "--model", "huge.npz", "--data", str(data / "train.npz"),
                     "--out", "p.csv", cwd=tmp_path)  # fmt: skip
    _one_error_line(result, "predict", "the model 'huge.npz' gives non-finite outputs for",
                    "nothing written")  # fmt: skip
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_bench_json_is_checked_before_the_benchmarks_run(tmp_path):
    os.mkfifo(tmp_path / "f.json")
    (tmp_path / "folder").mkdir()
    quick = ["--workloads", "W1", "--repeats", "1", "--steps-scale", "0.001"]
    for target, why in (("f.json", "FIFO"), ("folder", "it is a folder"),
                        ("missing/x.json", "does not exist")):  # fmt: skip
        result = fastdnn("bench", "--json", target, *quick, cwd=tmp_path, timeout=120)
        _one_error_line(result, "bench", "--json: cannot write", why)
        assert result.stdout == ""  # nothing ran


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_data_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.csv")
    result = fastdnn("train", "--data", "x.csv", "--out", "m.npz", cwd=tmp_path, timeout=60)
    _one_error_line(result, "train", "'x.csv' is a FIFO (named pipe), not a regular file")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS: Linux only")
def test_a_network_too_big_for_the_memory_is_refused_before_allocating(tmp_path, data):
    # --layers 100000000 on 4 inputs: 6e8 parameters, 4.8 GB each copy; the cap leaves ~2 GB
    result = fastdnn("train", "--data", data / "train.npz", "--layers", "100000000", "--out",
                     "m.npz", cwd=tmp_path, memory_cap=3 * 2**30)  # fmt: skip
    _one_error_line(result, "train", "--layers 100000000 would need about", "GiB of memory",
                    "300,000,001 parameters in float64", "is available")  # fmt: skip


@pytest.mark.parametrize("error", [MemoryError("cannot allocate"), OverflowError("too big"),
                                   RecursionError("maximum recursion depth exceeded")])  # fmt: skip
def test_library_errors_are_one_line_and_exit_2(monkeypatch, capsys, error):
    from fastdnn import cli
    from fastdnn.cli import _parser

    def fail(args):
        raise error

    monkeypatch.setattr(_parser, "cmd_info", fail)  # the parser binds it when it is built
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fastdnn info: error: "), err
    assert str(error) in err


def test_warnings_are_one_line(tmp_path, data):
    result = fastdnn("train", "--data", data / "train.npz", "--layers", "3", "--init", "zeros",
                     "--iterations", "5", "--out", "m.npz", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastdnn train: warning: init='zeros'"), lines


# ----------------------------------------------------------------------------- column names
@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    """A model trained (as far as its names go) on columns f1..f4 and label."""
    path = tmp_path_factory.mktemp("named") / "named.npz"
    net = DNN([4, 3, 1], seed=0)
    net.feature_names = ["f1", "f2", "f3", "f4"]
    net.label_names = ["label"]
    net.save(path)
    return path


def test_predict_matches_csv_columns_by_name(tmp_path, data, named_model):
    X, Y = np.load(data / "train.npz")["X"], np.load(data / "train.npz")["Y"]
    expected = DNN.load(named_model).predict_proba(X)
    rows = [f"{int(y)},{d!r},7,{b!r},{a!r},{c!r}\n"
            for (a, b, c, d), y in zip(X.T.tolist(), Y[0], strict=True)]  # fmt: skip
    (tmp_path / "shuffled.csv").write_text("label,f4,id,f2,f1,f3\n" + "".join(rows))
    result = fastdnn("predict", "--model", named_model, "--data", "shuffled.csv", "--out",
                     "p.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], expected[0], rtol=1e-15, atol=0)
    assert "accuracy on shuffled.csv" in result.stdout  # the label column found by its name


def test_predict_names_a_missing_feature_column(tmp_path, data, named_model):
    # The issue: one feature column fewer than the model; by position, the label column
    # was silently taken as the fourth feature.
    X, Y = np.load(data / "train.npz")["X"], np.load(data / "train.npz")["Y"]
    rows = [f"{a!r},{b!r},{c!r},{int(y)}\n"
            for (a, b, c, _), y in zip(X.T.tolist(), Y[0], strict=True)]  # fmt: skip
    (tmp_path / "three.csv").write_text("f1,f2,f3,label\n" + "".join(rows))
    result = fastdnn("predict", "--model", named_model, "--data", "three.csv", "--out", "p.csv",
                     cwd=tmp_path)  # fmt: skip
    _one_error_line(result, "predict", "no column 'f4', a feature the model was trained on")
    assert not (tmp_path / "p.csv").exists()


# ----------------------------------------------------------------------------- outputs
def _inputs_as_outputs(tmp, data, model):
    shutil.copy(data / "train.npz", tmp / "d.npz")
    shutil.copy(model, tmp / "model.npz")
    os.symlink(tmp / "d.npz", tmp / "link.npz")
    os.link(tmp / "model.npz", tmp / "hard.npz")
    train = ["train", "--data", "d.npz", "--iterations", "5", "--out"]
    predict = ["predict", "--model", "model.npz", "--data", "d.npz", "--out"]
    return {
        "train --out the data": ([*train, "d.npz"], "'d.npz' is the --data file 'd.npz'"),
        "train --out a symlink to the data": ([*train, "link.npz"], "is the --data file"),
        "predict --out the model": ([*predict, "model.npz"], "is the --model file"),
        "predict --out a hard link to the model": ([*predict, "hard.npz"], "is the --model file"),
        "predict --out the data via ..": ([*predict, "../" + tmp.name + "/d.npz"],
                                          "is the --data file"),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["train --out the data", "train --out a symlink to the data",
                                  "predict --out the model",
                                  "predict --out a hard link to the model",
                                  "predict --out the data via .."])  # fmt: skip
def test_an_output_is_never_an_input(tmp_path, data, named_model, case):
    args, fragment = _inputs_as_outputs(tmp_path, data, named_model)[case]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = fastdnn(*args, cwd=tmp_path)
    _one_error_line(result, args[0], fragment)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_output_that_is_not_a_regular_file_is_left_alone(tmp_path, data, named_model):
    os.mkfifo(tmp_path / "out.csv")
    result = fastdnn("predict", "--model", named_model, "--data", data / "train.npz", "--out",
                     "out.csv", cwd=tmp_path, timeout=60)  # fmt: skip
    _one_error_line(result, "predict", "'out.csv'", "FIFO", "not a regular file")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "out.csv").st_mode)


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_read_only_output_is_left_alone(tmp_path, data, named_model):
    # Refused from its mode bits too, as DNN.save refuses it: root's open() ignores them.
    (tmp_path / "p.csv").write_text("keep me")
    os.chmod(tmp_path / "p.csv", 0o444)
    result = fastdnn("predict", "--model", named_model, "--data", data / "train.npz", "--out",
                     "p.csv", cwd=tmp_path)  # fmt: skip
    _one_error_line(result, "predict", "'p.csv'", "read-only")
    assert (tmp_path / "p.csv").read_text() == "keep me"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_an_output_through_a_link_is_written_where_it_points(tmp_path, data, named_model):
    # As DNN.save and open() do: the link stays, the file it points to is written (a dangling
    # link creates it). The command used to call a dangling link "not writable".
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out" / "p.csv", tmp_path / "p.csv")
    result = fastdnn("predict", "--model", named_model, "--data", data / "train.npz", "--out",
                     "p.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert os.path.islink(tmp_path / "p.csv")
    assert len((tmp_path / "out" / "p.csv").read_text().splitlines()) == 201  # header + rows


def test_a_plot_path_that_cannot_be_written_is_refused_before_training(tmp_path):
    result = fastdnn("demo", "--plot", "missing/flower.png", cwd=tmp_path, timeout=60)
    _one_error_line(result, "demo", "--plot: cannot write", "the folder 'missing' does not exist")
    assert result.stdout == ""  # nothing trained
    pytest.importorskip("matplotlib", reason="the plot extra")
    result = fastdnn("demo", "--plot", "flower.txt", cwd=tmp_path, timeout=60)  # it trained first
    _one_error_line(result, "demo", "--plot: path 'flower.txt': a figure cannot be saved as '.txt'")
    assert result.stdout == "" and not (tmp_path / "flower.txt").exists()


def test_bad_labels_are_refused_before_the_predictions_are_written(tmp_path, data):
    X, Y = np.load(data / "train.npz")["X"], np.load(data / "train.npz")["Y"]
    Y[0, 5] = 2.0
    np.savez(tmp_path / "bad.npz", X=X, Y=Y)
    DNN([4, 3, 1], seed=0).save(tmp_path / "m.npz")
    (tmp_path / "keep.csv").write_text("my results")
    result = fastdnn("predict", "--model", "m.npz", "--data", "bad.npz", "--out", "keep.csv",
                     cwd=tmp_path)  # fmt: skip
    _one_error_line(result, "predict", "the labels in 'bad.npz'", "binary labels 0 or 1")
    assert (tmp_path / "keep.csv").read_text() == "my results" and result.stdout == ""


def _interrupted_train(tmp_path, data, out):
    """``fastdnn train`` stopped by Ctrl-C (SIGINT) once it has printed its first cost."""
    return _interrupted(tmp_path, ["train", "--data", str(data / "train.npz"), "--layers", "16",
                                   "--iterations", "100000000", "--cost-every", "1000",
                                   "--out", out])  # fmt: skip


def _interrupted(tmp_path, args):
    """``fastdnn *args`` stopped by Ctrl-C (SIGINT) once it has printed its first cost."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "fastdnn", *args]

    def ctrl_c_as_a_terminal_sends_it():
        # A test run started in the background (a CI job, `cmd &`) ignores SIGINT, and a child
        # would inherit that: Python then never raises KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          preexec_fn=ctrl_c_as_a_terminal_sends_it) as proc:  # fmt: skip
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Cost after iteration"):
                proc.send_signal(signal.SIGINT)
                break
        out_text, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(lines) + out_text, err


@pytest.mark.skipif(os.name != "posix", reason="SIGINT as Ctrl-C: POSIX")
def test_ctrl_c_never_replaces_an_existing_model(tmp_path, data):
    DNN([4, 3, 1], seed=0).save(tmp_path / "good.npz")
    before = (tmp_path / "good.npz").read_bytes()
    code, out, err = _interrupted_train(tmp_path, data, "good.npz")
    assert code == 130, (out, err)
    assert "'good.npz' exists and is left as it was" in out
    assert (tmp_path / "good.npz").read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="SIGINT as Ctrl-C: POSIX")
def test_ctrl_c_stops_the_demo_with_exit_130(tmp_path):
    code, out, err = _interrupted(tmp_path, ["demo", "--iterations", "100000000"])
    assert code == 130 and re.search(r"interrupted after \d+ iterations", out), (out, err)


def test_a_diverging_demo_is_one_line_exit_2(tmp_path):
    result = fastdnn("demo", "--learning-rate", "1e308", "--iterations", "2000", cwd=tmp_path)
    _one_error_line(result, "demo", "training diverged", "try a smaller --learning-rate")
    assert "--lambd" not in result.stderr  # the demo has no such flag


@pytest.mark.skipif(os.name != "posix", reason="SIGINT as Ctrl-C: POSIX")
def test_ctrl_c_saves_what_was_trained_to_a_new_path(tmp_path, data):
    code, out, err = _interrupted_train(tmp_path, data, "new.npz")
    assert code == 130 and "model saved to new.npz" in out, (out, err)
    net = DNN.load(tmp_path / "new.npz")
    assert net.layer_dims == [4, 16, 1] and net.n_steps_ > 0


# ----------------------------------------------------------------------------- new users
def test_version(tmp_path):
    from fastdnn import __version__

    result = fastdnn("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"fastdnn {__version__}"


def test_default_seed_is_fixed_and_printed(tmp_path, data):
    runs = [fastdnn("train", "--data", data / "train.npz", "--layers", "6", "--lr", "0.5",
                    "--cost-every", "500", "--out", f"m{i}.npz", cwd=tmp_path)
            for i in range(2)]  # fmt: skip
    for result in runs:
        assert result.returncode == 0, result.stderr
        assert "for 2500 iterations" in result.stdout and ", seed 1," in result.stdout
    costs = [[line for line in r.stdout.splitlines() if line.startswith("Cost")] for r in runs]
    assert len(costs[0]) == 5 and costs[0] == costs[1]
    assert _accuracy(runs[0].stdout, "training accuracy") == _accuracy(
        runs[1].stdout, "training accuracy"
    )


def test_layers_may_be_given_unquoted(tmp_path, data):
    result = fastdnn("train", "--data", data / "train.npz", "--layers", "6", "3,2",
                     "--iterations", "5", "--out", "m.npz", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert DNN.load(tmp_path / "m.npz").layer_dims == [4, 6, 3, 2, 1]


def test_every_option_has_help_and_choices_come_from_the_library():
    from fastdnn import BACKENDS, cli
    from fastdnn._types import ACTIVATIONS, OUTPUT_LOSS
    from fastdnn._validation import INITS

    parser = cli.build_parser()
    for name in ("demo", "train", "predict"):
        for action in parser.commands[name]._actions:
            assert action.help, f"fastdnn {name} {action.option_strings} has no help text"
    choices = {a.dest: a.choices for a in parser.commands["train"]._actions if a.choices}
    assert choices["hidden"] == tuple(ACTIVATIONS)
    assert choices["output"] == tuple(OUTPUT_LOSS)
    assert choices["init"] == tuple(INITS)
    assert choices["backend"] == tuple(BACKENDS)
    from fastdnn._types import OPTIMIZERS

    assert choices["optimizer"] == tuple(OPTIMIZERS)


def test_standardize(tmp_path):
    """Unscaled breast-cancer features (standard deviations 0.003 to 570) train once
    standardised: standardised logistic regression separates this data set to about 98 %."""
    datasets = pytest.importorskip("sklearn.datasets")
    bunch = datasets.load_breast_cancer()
    header = [n.replace(" ", "_") for n in bunch.feature_names] + ["malignant"]
    rows = [",".join(map(repr, x.tolist())) + f",{int(y)}\n"
            for x, y in zip(bunch.data, bunch.target, strict=True)]  # fmt: skip
    (tmp_path / "bc.csv").write_text(",".join(header) + "\n" + "".join(rows))
    result = fastdnn("train", "--data", "bc.csv", "--layers", "none", "--lr", "0.5",
                     "--iterations", "300", "--standardize", "--out", "bc.npz",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _accuracy(result.stdout, "training accuracy") >= 97.0
    net = DNN.load(tmp_path / "bc.npz")
    np.testing.assert_allclose(net.input_mean[:, 0], bunch.data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(net.input_scale[:, 0], bunch.data.std(axis=0), rtol=1e-12)
    result = fastdnn("predict", "--model", "bc.npz", "--data", "bc.csv", "--out", "p.csv",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _accuracy(result.stdout, "accuracy on bc.csv") >= 97.0


# ----------------------------------------------------------------------------- Course 2
@pytest.fixture(scope="module")
def classes3(tmp_path_factory):
    """Three classes by the first feature, as a CSV with a class-index column."""
    folder = tmp_path_factory.mktemp("classes3")
    rng = np.random.default_rng(0)
    X = rng.random((4, 300))
    y = (X[0] * 3).astype(int)
    rows = "".join(
        ",".join(map(repr, col)) + f",{k}\n" for col, k in zip(X.T.tolist(), y, strict=True)
    )
    (folder / "c3.csv").write_text("f1,f2,f3,f4,cls\n" + rows)
    (folder / "bad.csv").write_text("f1,f2,cls\n0.1,0.2,0\n0.3,0.4,1.5\n0.5,0.6,2\n")
    return folder


def test_train_softmax_with_adam_then_predict(tmp_path, classes3):
    result = fastdnn("train", "--data", classes3 / "c3.csv", "--output", "softmax", "--layers",
                     "16", "--optimizer", "adam", "--lr", "0.01", "--epochs", "40",
                     "--batch-size", "32", "--lambd", "0.01", "--cost-every", "100",
                     "--out", "m.npz", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "classes: 0..2 (one softmax output each)" in result.stdout
    assert "never appear" not in result.stdout
    assert "with optimizer=adam, lambd=0.01" in result.stdout
    assert _accuracy(result.stdout, "training accuracy") > 90.0
    net = DNN.load(tmp_path / "m.npz")
    assert net.output == "softmax" and net.layer_dims == [4, 16, 3]
    result = fastdnn("predict", "--model", "m.npz", "--data", classes3 / "c3.csv", "--label",
                     "cls", "--out", "p.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "prediction,probability_0,probability_1,probability_2"
    table = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    assert set(np.unique(table[:, 0])) <= {0.0, 1.0, 2.0}
    np.testing.assert_allclose(table[:, 1:].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(table[:, 0], table[:, 1:].argmax(axis=1))
    assert _accuracy(result.stdout, "accuracy on .*c3.csv") > 90.0
    # The model keeps its label column: predict scores without --label (it printed no
    # accuracy and left bad labels unchecked, a helper's review).
    assert net.label_names == ["cls"]
    result = fastdnn("predict", "--model", "m.npz", "--data", classes3 / "c3.csv", "--out",
                     "p2.csv", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _accuracy(result.stdout, "accuracy on .*c3.csv") > 90.0
    (tmp_path / "seven.csv").write_text("f1,f2,f3,f4,cls\n0.1,0.2,0.3,0.4,7\n")
    result = fastdnn("predict", "--model", "m.npz", "--data", "seven.csv", cwd=tmp_path)
    assert result.returncode == 2 and "the labels in 'seven.csv'" in result.stderr


def test_softmax_classes_that_never_appear_are_noted(tmp_path):
    # Labels 1 and 3 (not counted from 0) make four outputs: two of them for no example.
    rows = "".join(f"{i / 10},{1 + 2 * (i % 2)}\n" for i in range(10))
    (tmp_path / "c.csv").write_text("f,cls\n" + rows)
    result = fastdnn("train", "--data", "c.csv", "--output", "softmax", "--layers", "none",
                     "--iterations", "2", "--out", "m.npz", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "note: 2 of the classes 0..3 never appear in the labels" in result.stdout


def test_softmax_labels_must_be_class_indices(tmp_path, classes3):
    result = fastdnn("train", "--data", classes3 / "bad.csv", "--output", "softmax", "--out",
                     "m.npz", cwd=tmp_path)  # fmt: skip
    _one_error_line(result, "train", "must be class indices 0, 1, 2, ... for --output softmax",
                    "found [1.5]")  # fmt: skip
    assert not (tmp_path / "m.npz").exists()


def test_early_stopping_flags(tmp_path, data):
    # A large net on 200 examples at a high rate: the held-out cost soon stops improving.
    result = fastdnn("train", "--data", data / "train.npz", "--layers", "64", "--optimizer",
                     "adam", "--lr", "0.05", "--iterations", "2000", "--cost-every", "5",
                     "--early-stopping", "--patience", "3", "--validation-fraction", "0.2",
                     "--keep-prob", "0.9", "--decay-rate", "0.001", "--out", "m.npz",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "early_stopping=True, validation_fraction=0.2, patience=3" in result.stdout
    assert "keep_prob=0.9" in result.stdout and "decay_rate=0.001" in result.stdout
    match = re.search(r"stopped early: .* kept the parameters of iteration (\d+)", result.stdout)
    assert match, result.stdout
    assert int(match.group(1)) % 5 == 0  # a record's iteration
    net = DNN.load(tmp_path / "m.npz")
    assert net.history_.stop_reason == "early_stopping"
    assert net.n_steps_ < 2000


# ----------------------------------------------------------------------------- --resume
@pytest.mark.parametrize(
    "options",
    [["--iterations", "{n}", "--lr", "0.1", "--cost-every", "10"],
     ["--epochs", "{n}", "--batch-size", "32", "--optimizer", "adam", "--decay-rate", "0.3",
      "--lr", "0.01", "--cost-every", "7"]],
    ids=["full-batch", "adam-minibatches"],
)  # fmt: skip
def test_resume_continues_as_one_longer_run(tmp_path, data, capsys, options):
    from fastdnn.cli import main

    def train(n, out, *more):
        args = ["train", "--data", str(data / "train.npz"), *more, "--out", str(tmp_path / out)]
        assert main(args + [a.format(n=n) for a in options]) == 0
        return capsys.readouterr().out

    train(3, "first.npz", "--layers", "5", "--seed", "4")
    first = (tmp_path / "first.npz").read_bytes()
    out = train(2, "resumed.npz", "--resume", str(tmp_path / "first.npz"))
    assert (tmp_path / "first.npz").read_bytes() == first  # the input is left alone
    train(5, "at_once.npz", "--layers", "5", "--seed", "4")
    assert "resuming" in out and "[4, 5, 1] hidden=relu output=sigmoid" in out
    resumed, at_once = DNN.load(tmp_path / "resumed.npz"), DNN.load(tmp_path / "at_once.npz")
    assert resumed.n_steps_ == at_once.n_steps_ > DNN.load(tmp_path / "first.npz").n_steps_
    assert resumed._theta.tobytes() == at_once._theta.tobytes()


@pytest.mark.parametrize("by_blocks", [[], ["--block-size", "50"]], ids=["memory", "blocks"])
def test_resume_matches_csv_columns_by_name(tmp_path, data, capsys, by_blocks):
    # By blocks too: that path saved no column names, and its resume took columns by position.
    from fastdnn.cli import main

    X, Y = np.load(data / "train.npz")["X"], np.load(data / "train.npz")["Y"]
    rows = [f"{int(y)},{d!r},7,{b!r},{a!r},{c!r}\n"
            for (a, b, c, d), y in zip(X.T.tolist(), Y[0], strict=True)]  # fmt: skip
    (tmp_path / "shuffled.csv").write_text("label,f4,id,f2,f1,f3\n" + "".join(rows))
    first = ["train", "--data", str(data / "train.csv"), "--label", "label", "--layers", "3",
             "--iterations", "5", *by_blocks]  # fmt: skip
    assert main([*first, "--standardize", "--out", str(tmp_path / "first.npz")]) == 0
    saved = DNN.load(tmp_path / "first.npz")
    assert (saved.feature_names, saved.label_names) == (["f1", "f2", "f3", "f4"], ["label"])
    more = ["--resume", str(tmp_path / "first.npz"), "--iterations", "5", *by_blocks]
    for name in ("train.csv", "shuffled.csv"):  # extra column 'id' ignored, as predict does
        source = data / name if name == "train.csv" else tmp_path / name
        out = str(tmp_path / f"from_{name}.npz")
        assert main(["train", "--data", str(source), *more, "--out", out]) == 0
    capsys.readouterr()
    a, b = DNN.load(tmp_path / "from_train.csv.npz"), DNN.load(tmp_path / "from_shuffled.csv.npz")
    assert a._theta.tobytes() == b._theta.tobytes() and a.n_steps_ == 10
    assert a.input_mean is not None  # the first run's scaling, kept


def test_resume_says_what_it_keeps_and_drops(tmp_path, capsys):
    from fastdnn.cli import main

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "noise.npz", X=rng.normal(size=(10, 80)),
             Y=(rng.random((1, 80)) < 0.5).astype(float))  # fmt: skip
    data = ["train", "--data", str(tmp_path / "noise.npz")]
    # Early stopping that ran to the end keeps its best record: the saved model is there.
    assert main([*data, "--layers", "30", "--lr", "0.5", "--early-stopping", "--patience", "5",
                 "--cost-every", "10", "--iterations", "20", "--out",
                 str(tmp_path / "es.npz")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    saved = DNN.load(tmp_path / "es.npz")
    h = saved.history_  # the records, saved with the model: the best is a candidate after 0
    best = min((c, i) for i, c in zip(h.val_iterations, h.val_costs, strict=True) if i > 0)[1]
    assert saved.n_steps_ == best
    assert best < 20, "the scenario needs a best record before the last (noise labels)"
    assert f"kept the parameters of iteration {best}, the best validation cost" in out
    # An Adam model resumed without --optimizer adam: said, not silent.
    adam = ["--lr", "0.01", "--optimizer", "adam", "--iterations", "3"]
    assert main([*data, "--layers", "3", *adam, "--out", str(tmp_path / "adam.npz")]) == 0
    assert main([*data, "--resume", str(tmp_path / "adam.npz"), "--iterations", "2",
                 "--out", str(tmp_path / "gd.npz")]) == 0  # fmt: skip
    assert "holds the state of adam; this run trains with --optimizer gd" in capsys.readouterr().out


def test_soft_labels_train_in_memory_as_by_blocks(tmp_path):
    # fit takes probabilities in [0, 1] for a sigmoid output; train refused them in memory
    # (its own 0/1 check) while --block-size took them (a helper's review).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 160))
    Y = np.where(X[:1] > 0, 0.95, 0.05)
    np.savez(tmp_path / "soft.npz", X=X, Y=Y)
    common = ["--layers", "5", "--iterations", "50", "--lr", "0.3", "--seed", "1"]
    memory = fastdnn("train", "--data", "soft.npz", *common, "--out", "a.npz", cwd=tmp_path)
    assert memory.returncode == 0, memory.stderr
    blocks = fastdnn("train", "--data", "soft.npz", *common, "--block-size", "160", "--out",
                     "b.npz", cwd=tmp_path)  # fmt: skip
    assert blocks.returncode == 0, blocks.stderr
    a, b = DNN.load(tmp_path / "a.npz"), DNN.load(tmp_path / "b.npz")
    np.testing.assert_allclose(a._theta, b._theta, rtol=1e-12, atol=1e-15)
    np.savez(tmp_path / "classes.npz", X=X, Y=np.where(X[:1] > 0, 2.0, 0.0))
    result = fastdnn("train", "--data", "classes.npz", *common, "--out", "c.npz", cwd=tmp_path)
    _one_error_line(result, "train", "must be 0 or 1 (or probabilities in [0, 1])", "[2.0]",
                    "use --output softmax")  # fmt: skip
