"""How fastdnn's compiled code is kept in Numba's on-disk cache.

Two changes to Numba's cache, both for fastdnn's own functions only, both through Numba's
internal classes (``numba.core.caching``; if those change, each quietly does nothing and
Numba's own behaviour remains):

* :func:`install_package_wide_stamp`: cached code is invalidated by an edit of *any* file of
  the package, not only the file defining the function (the training loop inlines kernels from
  other files).
* :func:`locked_saves`: a function's cache entry is saved under a lock, so that processes
  compiling at the same moment on a cold cache (a Dask cluster's workers, parallel command-line
  runs, tests on several processes) cannot corrupt it. Numba saves an entry by reading the
  function's index, taking the first free data-file number, writing the index, then the data,
  with no lock: two processes saving different signatures of one function at once can take the
  same number, and the index that survives can name the other's compiled code, which a later
  process loads for the wrong argument types (numba/numba#10128 reports it for gufuncs, with
  segfaults). Reproduced with four processes saving one entry each at the same moment: 10 of 50
  trials left such an entry (and entries were lost in most).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
from collections.abc import Iterator

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: The file, in each cache folder, that saves lock (empty; kept, since removing it would race).
LOCK_NAME = "fastdnn-cache.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks in the standard library
    fcntl = None


@functools.cache
def package_stamp() -> tuple:
    """(name, mtime, size) of every source file of the package, as this process imported it.

    Taken once: Numba asks for it for every cached function (about a hundred at import), and
    the code in this process is what was imported, whatever happens to the files later.
    """
    stamp = []
    for folder, subfolders, files in os.walk(_PACKAGE_DIR):
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]  # Numba's cache files
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                stamp.append(
                    (
                        os.path.relpath(os.path.join(folder, name), _PACKAGE_DIR),
                        st.st_mtime,
                        st.st_size,
                    )
                )
    return tuple(sorted(stamp))


def install_package_wide_stamp() -> None:
    """Invalidate fastdnn's cached machine code when *any* of its source files changes.

    Numba checks only the file that defines a function, but the training loop inlines kernels
    from other files: after an edit of ``kernels/jit.py``, the cached training loop would
    still run the old kernel. So, for functions defined in this package, the cache's source
    stamp covers every file of the package.
    """
    try:
        from numba.core import caching

        bases = [
            caching.UserProvidedCacheLocator,
            caching.InTreeCacheLocator,
            caching.UserWideCacheLocator,
        ]
        ours = []
        for base in bases:

            class PackageWide(base):
                @classmethod
                def from_function(cls, py_func, py_file):
                    if not os.path.abspath(py_file).startswith(_PACKAGE_DIR + os.sep):
                        return None
                    return super().from_function(py_func, py_file)

                def get_source_stamp(self):
                    return package_stamp()

            PackageWide.__name__ = f"FastdnnPackageWide{base.__name__}"
            ours.append(PackageWide)
        caching.CacheImpl._locator_classes[:0] = ours
    except Exception:  # pragma: no cover - depends on numba internals
        pass


@contextlib.contextmanager
def folder_lock(folder: str) -> Iterator[bool]:
    """Hold an exclusive lock on the cache folder ``folder`` (blocking); yields whether a lock
    is held. A POSIX record lock on :data:`LOCK_NAME` in the folder, which works on network
    file systems too. Without ``fcntl`` (Windows), or where the lock file cannot be made,
    nothing is locked and the caller goes on as Numba would."""
    if fcntl is None:  # pragma: no cover
        yield False
        return
    try:
        # Never through a link: the lock file is only opened, never written, but a planted
        # link would have it created elsewhere.
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(os.path.join(folder, LOCK_NAME), flags, 0o666)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _locked_cache_file_class():
    """A subclass of Numba's ``IndexDataCacheFile`` whose ``save`` holds :func:`folder_lock`
    and writes the data before the index; None if Numba's class lacks what it relies on."""
    try:
        from numba.core.caching import IndexDataCacheFile
    except ImportError:  # pragma: no cover - depends on numba internals
        return None
    needed = ("save", "_load_index", "_save_index", "_save_data", "_data_name")
    if not all(hasattr(IndexDataCacheFile, name) for name in needed):  # pragma: no cover
        return None

    class LockedIndexDataCacheFile(IndexDataCacheFile):
        """Numba's index + data cache file, saved under a lock on its folder."""

        def save(self, key, data):
            with folder_lock(self._cache_path):
                # The index is read inside the lock, so a data-file number another process
                # has just taken is seen as taken. The data is written before the index, so a
                # process loading meanwhile never finds the index naming a file that holds
                # something else (a stale entry from older source, or nothing yet).
                overloads = self._load_index()
                data_name = overloads.get(key)
                if data_name is not None:  # an entry for key already: replace its data
                    self._save_data(data_name, data)
                    return
                taken = set(overloads.values())
                numbers = itertools.count(1)
                data_name = next(n for n in map(self._data_name, numbers) if n not in taken)
                self._save_data(data_name, data)
                overloads[key] = data_name
                self._save_index(overloads)

    return LockedIndexDataCacheFile


LockedIndexDataCacheFile = _locked_cache_file_class()


@contextlib.contextmanager
def locked_saves() -> Iterator[None]:
    """Functions made inside this block save their cache entries with
    :class:`LockedIndexDataCacheFile`.

    Numba creates a function's cache file when caching is enabled, as a dispatcher or a C
    callback is made (a C callback also compiles, and saves, right there). So for this block
    the name Numba creates it by is pointed at the locked class; functions made elsewhere keep
    Numba's.
    """
    if LockedIndexDataCacheFile is None:  # pragma: no cover - depends on numba internals
        yield
        return
    from numba.core import caching

    with _swap_lock:  # two threads making functions at once must not restore each other's
        original = caching.IndexDataCacheFile
        caching.IndexDataCacheFile = LockedIndexDataCacheFile
        try:
            yield
        finally:
            caching.IndexDataCacheFile = original


_swap_lock = threading.RLock()  # re-entrant: making one function may make another
