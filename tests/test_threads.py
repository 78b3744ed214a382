"""single_threaded_blas: one BLAS thread inside, the previous count restored after, nesting free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [lib.get_num_threads() for lib in threadpoolctl.ThreadpoolController().lib_controllers
            if lib.user_api == "blas"]


def test_limit_is_held_and_restored():
    from dlfers import _kernels
    from dlfers._threads import single_threaded_blas

    _kernels.get()  # loads the BLAS the kernels use
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        if not before:
            pytest.skip("no BLAS library loaded")
        with single_threaded_blas():
            assert set(_blas_threads()) == {1}
            with single_threaded_blas():  # nested: still one thread, no extra restore
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before


def test_restored_after_an_exception():
    from dlfers._threads import single_threaded_blas

    before = _blas_threads()
    with pytest.raises(RuntimeError), single_threaded_blas():
        raise RuntimeError("boom")
    assert _blas_threads() == before


def test_concurrent_blocks_leave_the_count_as_it_was():
    from dlfers._threads import single_threaded_blas

    before = _blas_threads()

    def work(_: int) -> None:
        for _ in range(200):
            with single_threaded_blas():
                pass

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(work, range(4)))
    assert _blas_threads() == before
