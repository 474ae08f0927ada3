"""The ``fastdnn`` command, run as users run it: ``python -m fastdnn ...`` in a subprocess."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastdnn import DNN

REPO = Path(__file__).resolve().parents[1]
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def fastdnn(*args, cwd):
    """Run ``python -m fastdnn *args``; the package is taken from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "fastdnn", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
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


def test_info(tmp_path):
    result = fastdnn("info", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fastdnn ") and "numba" in result.stdout


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
        "negative --lr": ([*train, "--lr", "-0.1"], "argument --lr: must be a positive"),
        "text --lr": ([*train, "--lr", "fast"], "argument --lr"),
        "bad --iterations": ([*train, "--iterations", "0"], "argument --iterations"),
        "bad --hidden": ([*train, "--hidden", "swish"], "argument --hidden: invalid choice"),
        "bad --threads": ([*train, "--threads", "0"], "argument --threads: must be a positive"),
        "missing --out folder": (["train", "--data", data / "train.npz", "--out",
                                  tmp / "no" / "m.npz"], "--out: the folder"),
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
    }  # fmt: skip


MISTAKES = ["missing data file", "missing model file", "bad --layers", "zero in --layers",
            "negative --lr", "text --lr", "bad --iterations", "bad --hidden", "bad --threads",
            "missing --out folder", "unknown label column", "bad shape", "damaged model",
            "n_x mismatch", "n_x mismatch csv"]  # fmt: skip


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
