"""Saving never destroys what the user owns, and never writes a file load would refuse."""

import os
import stat

import numpy as np
import pytest

from fastdnn import DNN
from fastdnn import io as fio


@pytest.fixture
def net():
    return DNN([3, 2, 1], seed=0)


def _listing(folder):
    return sorted(os.listdir(folder))


# ----------------------------------------------------------------------------- targets
def test_read_only_file_is_not_replaced(tmp_path, net):
    # Tests run as root here, and root's open() ignores the mode: the mode bits decide.
    target = tmp_path / "best_model.npz"
    target.write_bytes(b"precious")
    target.chmod(0o444)
    with pytest.raises(PermissionError) as info:
        net.save(target)
    message = str(info.value)
    assert f"'{target}'" in message and "read-only" in message and ".tmp" not in message
    assert target.read_bytes() == b"precious"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert _listing(tmp_path) == ["best_model.npz"]  # no temporary file left


def test_read_only_folder_names_the_target(tmp_path, net):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as info:
            net.save(folder / "m.npz")
    finally:
        folder.chmod(0o755)
    assert f"'{folder / 'm.npz'}'" in str(info.value) and "read-only" in str(info.value)
    assert _listing(folder) == []


def test_a_fifo_is_not_replaced(tmp_path, net):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"m.npz': it is a FIFO \(named pipe\), not a regular"):
        net.save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _listing(tmp_path) == ["m.npz"]


def test_a_device_is_not_replaced(tmp_path, net):
    link = tmp_path / "null.npz"
    link.symlink_to("/dev/null")
    with pytest.raises(ValueError, match="a link to '/dev/null'.*a character device"):
        net.save(link)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlink_is_written_through(tmp_path, net):
    real = tmp_path / "store" / "model-v3.npz"
    real.parent.mkdir()
    real.write_bytes(b"old model")
    real.chmod(0o640)
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    assert net.save(link) == link
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays a link
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the file keeps its mode
    np.testing.assert_array_equal(DNN.load(real)._theta, net._theta)
    np.testing.assert_array_equal(DNN.load(link)._theta, net._theta)
    assert _listing(real.parent) == ["model-v3.npz"] and _listing(tmp_path) == [
        "latest.npz", "store"]  # fmt: skip


def test_a_dangling_symlink_creates_its_target(tmp_path, net):
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "new.npz")
    net.save(link)
    assert link.is_symlink() and (tmp_path / "new.npz").is_file()
    np.testing.assert_array_equal(DNN.load(tmp_path / "new.npz")._theta, net._theta)


def test_a_symlink_to_a_read_only_file_is_refused(tmp_path, net):
    real = tmp_path / "real.npz"
    real.write_bytes(b"keep")
    real.chmod(0o400)
    (tmp_path / "link.npz").symlink_to(real)
    with pytest.raises(PermissionError, match="link.npz' \\(a link to .*real.npz'\\)"):
        net.save(tmp_path / "link.npz")
    assert real.read_bytes() == b"keep"


def test_a_symlink_loop_is_an_error_naming_the_target(tmp_path, net):
    (tmp_path / "a.npz").symlink_to(tmp_path / "b.npz")
    (tmp_path / "b.npz").symlink_to(tmp_path / "a.npz")
    with pytest.raises(OSError, match="a.npz'"):
        net.save(tmp_path / "a.npz")


@pytest.mark.parametrize("suffix", ["/", "/.", "/..", os.sep + "." + os.sep])
@pytest.mark.parametrize("save", ["DNN.save", "write_model", "bytes"])
def test_a_name_ending_in_a_separator_or_dot_is_a_folder_and_the_file_is_kept(
    tmp_path, net, suffix, save
):
    """Path('keep.npz/.') is Path('keep.npz'): the file the user kept there was replaced."""
    meta = fio.read_model(net.save(tmp_path / "saved.npz")).meta
    keep = tmp_path / "keep.npz"
    keep.write_bytes(b"precious")
    target = str(keep) + suffix
    with pytest.raises(IsADirectoryError, match="it names a folder; give a file name"):
        if save == "write_model":
            fio.write_model(target, meta, net._theta)
        else:
            net.save(os.fsencode(target) if save == "bytes" else target)
    assert keep.read_bytes() == b"precious" and _listing(tmp_path) == ["keep.npz", "saved.npz"]


def test_a_file_where_a_folder_should_be_is_named_as_such(tmp_path, net):
    (tmp_path / "keep.npz").write_bytes(b"precious")
    with pytest.raises(NotADirectoryError, match=r"keep.npz' is not a folder"):
        net.save(tmp_path / "keep.npz" / "m.npz")


def test_a_250_character_name_saves(tmp_path, net):
    name = "m" * 246 + ".npz"  # 250 characters: NAME_MAX is 255
    net.save(tmp_path / name)
    assert _listing(tmp_path) == [name]
    np.testing.assert_array_equal(DNN.load(tmp_path / name)._theta, net._theta)


def test_atomic_write_reports_the_file_written(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "real")
    written = fio.atomic_write(tmp_path / "link", lambda f: f.write(b"x"))
    assert written == tmp_path / "real" and (tmp_path / "real").read_bytes() == b"x"


# ----------------------------------------------------------------------------- never unreadable
def test_settings_are_checked_when_set(net):
    with pytest.raises(ValueError, match="slope must be a positive finite number; got 0.0"):
        net.slope = 0.0
    with pytest.raises(ValueError, match="hidden must be one of .* got 'swish'"):
        net.hidden = "swish"
    with pytest.raises(ValueError, match="output must be one of"):
        net.output = "softplus"
    with pytest.raises(ValueError, match="backend must be one of"):
        net.backend = "gpu"
    with pytest.raises(ValueError, match=r"n_steps_ must be an integer in \[0, 2\*\*62\); got -3"):
        net.n_steps_ = -3
    with pytest.raises(ValueError, match=r"n_steps_ must be an integer in \[0, 2\*\*62\)"):
        net.n_steps_ = 2**62
    for fixed in ("layer_dims", "dtype", "init", "seed", "loss"):
        with pytest.raises(AttributeError):
            setattr(net, fixed, getattr(net, fixed))
    assert (net.hidden, net.slope, net.output) == ("relu", 0.01, "sigmoid")
    net.hidden, net.output, net.slope = "tanh", "linear", 0.5
    assert (net.hidden, net.output, net.loss, net.slope) == ("tanh", "linear", "mse", 0.5)


def test_save_refuses_what_load_would_refuse(tmp_path, net):
    # Settings are checked when set; these get past that only by writing private state.
    net._hidden = "swish"
    with pytest.raises(ValueError, match="cannot save the model to .*hidden.*'swish'"):
        net.save(tmp_path / "m.npz")
    net._hidden = "relu"
    net.history_ = "not a History"
    with pytest.raises(ValueError, match="history_ must be a fastdnn.History"):
        net.save(tmp_path / "m.npz")
    net.history_ = None
    net._feature_names = ("a", "a", "b")
    with pytest.raises(ValueError, match="feature_names must be unique"):
        net.save(tmp_path / "m.npz")
    assert _listing(tmp_path) == []
