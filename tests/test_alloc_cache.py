"""The block cache behind ms_alloc / ms_free (minisinga/c/core.c).

Freed blocks of 64 KiB to 64 MiB are kept (256 MiB at most) and handed out again
for a request of the same size; everything else goes back to the system at once.
Under AddressSanitizer the cache is compiled out, so these tests skip there.
"""
import numpy as np
import pytest

from minisinga import device, tensor
from minisinga._lib import ffi, lib

pytestmark = pytest.mark.skipif(bool(lib.ms_sanitized()),
                                reason="the block cache is compiled out under ASan")

MiB = 1 << 20


@pytest.fixture(autouse=True)
def empty_cache():
    lib.ms_empty_cache()
    yield
    lib.ms_empty_cache()


def _addr(p) -> int:
    return int(ffi.cast("uintptr_t", p))


def test_freed_block_is_reused_for_the_same_size():
    p = lib.ms_alloc(3 * MiB)
    a = _addr(p)
    lib.ms_free(p)
    assert lib.ms_cache_bytes() == 3 * MiB
    q = lib.ms_alloc(3 * MiB)
    assert _addr(q) == a
    assert lib.ms_cache_bytes() == 0
    lib.ms_free(q)


def test_sizes_round_up_to_4_kib_so_near_sizes_share():
    p = lib.ms_alloc(MiB + 100)
    lib.ms_free(p)
    assert lib.ms_cache_bytes() == MiB + 4096
    q = lib.ms_alloc(MiB + 4000)         # rounds to the same 4 KiB multiple
    assert _addr(q) == _addr(p)
    lib.ms_free(q)


def test_different_size_is_not_handed_a_cached_block():
    p = lib.ms_alloc(MiB)
    lib.ms_free(p)
    q = lib.ms_alloc(2 * MiB)
    assert lib.ms_cache_bytes() == MiB   # the 1 MiB block is still there
    lib.ms_free(q)
    assert lib.ms_cache_bytes() == 3 * MiB


def test_small_and_huge_blocks_are_not_cached():
    for n in (1000, 64 * 1024 - 64, 65 * MiB):
        p = lib.ms_alloc(n)
        assert p != ffi.NULL
        lib.ms_free(p)
        assert lib.ms_cache_bytes() == 0, n


def test_cache_never_holds_more_than_256_mib():
    blocks = [lib.ms_alloc(48 * MiB) for _ in range(7)]    # 336 MiB
    for p in blocks:
        lib.ms_free(p)
    assert lib.ms_cache_bytes() == 5 * 48 * MiB              # 240 MiB; 2 went back


def test_empty_cache_gives_everything_back():
    for n in (MiB, 2 * MiB, 5 * MiB):
        lib.ms_free(lib.ms_alloc(n))
    assert lib.ms_cache_bytes() == 8 * MiB
    lib.ms_empty_cache()
    assert lib.ms_cache_bytes() == 0


def test_reused_block_holds_what_is_written_to_it():
    # A tensor built on a recycled block must hold its own data, not the old one's.
    a = tensor.from_numpy(np.full((512, 512), 7.0, np.float32))
    del a
    b = tensor.from_numpy(np.arange(512 * 512, dtype=np.float32).reshape(512, 512))
    np.testing.assert_array_equal(tensor.to_numpy(b),
                                  np.arange(512 * 512, dtype=np.float32).reshape(512, 512))


def test_alloc_is_64_byte_aligned_for_every_size():
    for n in (0, 1, 63, 64, 65, 4096, 64 * 1024, MiB + 1):
        p = lib.ms_alloc(n)
        assert _addr(p) % 64 == 0, n
        lib.ms_free(p)


def test_free_null_is_a_no_op():
    lib.ms_free(ffi.NULL)
    assert lib.ms_cache_bytes() == 0


def test_device_reports_and_empties_the_cache():
    dev = device.get_default_device()
    t = tensor.from_numpy(np.zeros((1024, 256), np.float32))      # 1 MiB
    assert dev.memory_stats()["cached_bytes"] == 0
    del t
    assert dev.memory_stats()["cached_bytes"] == MiB
    dev.empty_cache()
    assert dev.memory_stats()["cached_bytes"] == 0
