"""fastdnn's cache entries are saved under a lock (fastdnn/_numba_cache.py)."""

import multiprocessing
import sys

import numba
import numpy as np
import pytest
from numba.core import caching

from fastdnn import _numba, _numba_cache
from fastdnn._numba import JIT_DISABLED

pytestmark = pytest.mark.skipif(
    _numba_cache.LockedIndexDataCacheFile is None, reason="Numba's cache classes have changed"
)

N_PROCESSES = 4
N_TRIALS = 20


def _save_one(folder, key, barrier):
    cache_file = _numba_cache.LockedIndexDataCacheFile(
        cache_path=folder, filename_base="f", source_stamp="stamp"
    )
    barrier.wait()  # all processes save at the same moment
    cache_file.save(key, ("payload of", key, b"x" * 100_000))


@pytest.mark.skipif(sys.platform == "win32", reason="no lock on Windows: Numba's behaviour")
@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork (fast starts)"
)
def test_processes_saving_at_once_leave_every_entry_naming_its_own_data(tmp_path):
    # Numba's own class, in the same harness, left an entry naming another process's data in
    # 10-18 of 50 trials on a 2-core VM, and lost entries in most: the lock is what passes this.
    context = multiprocessing.get_context("fork")
    for trial in range(N_TRIALS):
        folder = tmp_path / str(trial)
        folder.mkdir()
        barrier = context.Barrier(N_PROCESSES)
        keys = [("signature", i) for i in range(N_PROCESSES)]
        processes = [
            context.Process(target=_save_one, args=(str(folder), key, barrier)) for key in keys
        ]
        for p in processes:
            p.start()
        for p in processes:
            p.join(60)
        assert [p.exitcode for p in processes] == [0] * N_PROCESSES
        reader = caching.IndexDataCacheFile(
            cache_path=str(folder), filename_base="f", source_stamp="stamp"
        )
        loaded = {key: reader.load(key) for key in keys}
        assert {key: data and data[1] for key, data in loaded.items()} == {k: k for k in keys}
        assert (folder / _numba_cache.LOCK_NAME).exists()


def test_a_save_replaces_an_entry_and_ignores_a_stale_index(tmp_path):
    def cache_file(stamp):
        return _numba_cache.LockedIndexDataCacheFile(
            cache_path=str(tmp_path), filename_base="f", source_stamp=stamp
        )

    old = cache_file("old source")
    old.save("k", "old code")
    old.save("k2", "old code 2")
    assert old.load("k") == "old code"
    old.save("k", "recompiled")  # same key: its data file is rewritten, no new number
    assert old.load("k") == "recompiled"
    assert sorted(p.name for p in tmp_path.glob("f.*.nbc")) == ["f.1.nbc", "f.2.nbc"]

    new = cache_file("new source")  # an edit: the old index is stale, its numbers free again
    assert new.load("k") is None
    new.save("k2", "new code")
    assert new.load("k2") == "new code"
    assert new.load("k") is None


@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: nothing is cached")
def test_fastdnn_functions_save_with_the_lock_and_others_keep_numbas_class():
    if not _numba.CACHE:
        pytest.skip("FASTDNN_CACHE=0")
    from fastdnn.kernels import _jit_entries
    from fastdnn.steppers import _jit_loop

    locked = _numba_cache.LockedIndexDataCacheFile
    assert isinstance(_jit_loop.full_batch_steps._cache._cache_file, locked)

    @_numba.njit
    def twice(x):
        return 2 * x

    assert isinstance(twice._cache._cache_file, locked)
    assert twice(3) == 6

    # C entry points (numba.cfunc) compile, and save, as they are made: the same class.
    _jit_entries.entries(0, _jit_entries.OUTPUT_ACTS[0], np.float64)
    made = list(_jit_entries._made.values())
    assert made and all(isinstance(e._cache._cache_file, locked) for e in made)

    def plain(x):
        return x + 1

    theirs = numba.njit(cache=True)(plain)  # made outside fastdnn: Numba's own class
    assert type(theirs._cache._cache_file) is caching.IndexDataCacheFile
    assert caching.IndexDataCacheFile is not locked


@pytest.mark.skipif(sys.platform == "win32", reason="no lock on Windows")
def test_a_link_in_place_of_the_lock_file_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / _numba_cache.LOCK_NAME).symlink_to(target)
    with _numba_cache.folder_lock(str(folder)) as locked:
        assert locked is False  # goes on unlocked, as Numba would
    assert not target.exists()
    cache_file = _numba_cache.LockedIndexDataCacheFile(
        cache_path=str(folder), filename_base="f", source_stamp="s"
    )
    cache_file.save("k", "code")
    assert cache_file.load("k") == "code"
