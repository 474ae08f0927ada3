"""Writing a file atomically without destroying anything the user owns.

:func:`atomic_write` writes to a temporary file beside the target, flushes it to disk, then
renames it over the target: readers see the old file or the new one, never a mix, and an
interrupted write leaves the old file. Before anything is written the target is checked the way
``open(path, "w")`` would check it, plus what a rename would silently get past:

- a target that cannot be written (no write permission, or read-only mode bits: checked from
  the mode too, since root's ``open`` ignores them) raises ``PermissionError`` naming it;
- a folder raises ``IsADirectoryError``; a FIFO, device or socket raises ``ValueError`` (a
  rename would replace it with a regular file);
- a symbolic link is written *through*: the file it points to is replaced (atomically, keeping
  its mode) and the link stays a link. A dangling link creates the file it points to, as
  ``open`` does.

A file with several hard links gets a new file under this name only (the other names keep the
old contents), as with any atomic replacement.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ._archive import file_kind

# Short on purpose: the name of the temporary file must not limit the target's name (a
# 250-character target name plus a prefix made of it would pass NAME_MAX = 255).
_TMP_PREFIX = ".fastdnn-"
_TMP_SUFFIX = ".tmp"


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary file is flushed and fsync'ed before :func:`os.replace`, which is atomic on
    POSIX and Windows. On any error (including ``KeyboardInterrupt``) the temporary file is
    removed and ``path`` is untouched. A new file gets the usual permissions (``0o666`` less
    the umask); a replaced file keeps its mode. See the module docstring for which targets
    are refused and for symbolic links.

    Returns
    -------
    pathlib.Path
        The file actually written: ``path``, or the file a symbolic link ``path`` points to.

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    IsADirectoryError
        ``path`` is a folder.
    PermissionError
        ``path`` (or its folder, for the temporary file) is not writable.
    ValueError
        ``path`` is a FIFO, a device or a socket.
    """
    path = file_path(path)
    target, mode = _checked_target(path)
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=folder)
    except PermissionError:
        raise PermissionError(
            f"cannot write '{path}': no permission to create a file in the folder '{folder}'"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return target


def check_writable(path: str | os.PathLike) -> Path:
    """Check, without writing anything, that :func:`atomic_write` could write ``path``.

    For a command that must refuse an output before it does any work. Raises what
    :func:`atomic_write` would raise before writing; returns the file that would be written
    (``path``, or the file a symbolic link points to)."""
    return _checked_target(file_path(path))[0]


def file_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path, for a file to write. A name ending in a separator, ``.`` or
    ``..`` names a folder: ``Path`` would drop the separator or the dot, and ``out/`` or
    ``model.npz/.`` would become the file ``out`` or ``model.npz``, replacing it."""
    raw = os.fsdecode(os.fspath(path))
    if os.path.basename(raw) in ("", ".", ".."):
        raise IsADirectoryError(f"cannot write '{raw}': it names a folder; give a file name")
    return Path(raw)


def _checked_target(path: Path) -> tuple[Path, int]:
    """The file to write for ``path`` and the mode it gets, after every refusal."""
    target = _resolve(path)
    folder = target.parent
    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(f"cannot write '{path}': '{folder}' is not a folder")
        raise FileNotFoundError(f"cannot write '{path}': the folder '{folder}' does not exist")
    mode = _check_target(path, target)
    _check_folder(path, folder)
    return target, mode


def _resolve(path: Path) -> Path:
    """``path``, or for a symbolic link the file it finally points to (existing or not)."""
    if not path.is_symlink():
        return path
    try:
        os.stat(path)  # follows the links: a cycle fails here, as open() would
    except FileNotFoundError:
        pass  # dangling: the file it points to is created
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write '{path}': {exc.strerror}", str(path)) from None
    return Path(os.path.realpath(path))


def _check_target(path: Path, target: Path) -> int:
    """Refuse what must not be replaced; return the mode the new file gets."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return 0o666 & ~_umask()
    shown = f"'{path}'" if target == path else f"'{path}' (a link to '{target}')"
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"cannot write {shown}: it is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"cannot write {shown}: it is {file_kind(st.st_mode)}, not a regular file; "
            "give the name of a regular file"
        )
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(
            f"cannot write {shown}: the file is read-only (mode {stat.filemode(st.st_mode)}); "
            "make it writable (chmod u+w) or choose another name"
        )
    return stat.S_IMODE(st.st_mode)


def _check_folder(path: Path, folder: Path) -> None:
    st = os.stat(folder)
    if not st.st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(
            f"cannot write '{path}': the folder '{folder}' is read-only "
            f"(mode {stat.filemode(st.st_mode)}), and the file is written beside its target "
            "then renamed"
        )


def _umask() -> int:
    mask = os.umask(0)  # there is no read-only query; set and restore at once
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)
