"""single_threaded_blas: one BLAS thread inside, the previous count restored after, nesting free."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [lib.get_num_threads() for lib in threadpoolctl.ThreadpoolController().lib_controllers
            if lib.user_api == "blas"]


def test_limit_is_held_and_restored():
    from dlfers import _kernels
    from dlfers._util.threads import single_threaded_blas

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
    from dlfers._util.threads import single_threaded_blas

    before = _blas_threads()
    with pytest.raises(RuntimeError), single_threaded_blas():
        raise RuntimeError("boom")
    assert _blas_threads() == before


def test_concurrent_blocks_leave_the_count_as_it_was():
    from dlfers._util.threads import single_threaded_blas

    before = _blas_threads()

    def work(_: int) -> None:
        for _ in range(200):
            with single_threaded_blas():
                pass

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(work, range(4)))
    assert _blas_threads() == before


# ------------------------------------------------------------- reference-counted limit


def _threaded_blas(n: int = 2):
    """threadpool_limits giving every BLAS ``n`` threads (skips without a BLAS)."""
    from dlfers import _kernels

    _kernels.get()  # loads the BLAS the kernels use
    limits = threadpoolctl.threadpool_limits(n, user_api="blas")
    if not _blas_threads():
        limits.restore_original_limits()
        pytest.skip("no BLAS library loaded")
    if set(_blas_threads()) == {1}:
        limits.restore_original_limits()
        pytest.skip("this BLAS cannot run more than one thread: nothing to limit")
    return limits


@pytest.mark.parametrize("n_threads", [2, 4, 8])
def test_limit_holds_until_the_last_of_n_threads_leaves(n_threads):
    """Threads enter one after another, all meet at a barrier, then leave in entry order.

    The first to enter is the one that set the limit; it leaves first, and every BLAS must
    still report one thread while any other thread is inside, then the original count.
    """
    from dlfers._util.threads import single_threaded_blas

    limits = _threaded_blas(2)
    try:
        before = _blas_threads()
        inside = threading.Barrier(n_threads + 1)
        entered = [threading.Event() for _ in range(n_threads)]
        leave = [threading.Event() for _ in range(n_threads)]
        left = [threading.Event() for _ in range(n_threads)]
        seen: list[list[int]] = [[] for _ in range(n_threads)]

        def hold(i: int) -> None:
            if i:
                entered[i - 1].wait(10)
            with single_threaded_blas():
                entered[i].set()
                inside.wait(10)
                leave[i].wait(10)
                seen[i] = _blas_threads()
            left[i].set()

        threads = [threading.Thread(target=hold, args=(i,)) for i in range(n_threads)]
        for t in threads:
            t.start()
        inside.wait(10)  # every thread is inside its block
        assert set(_blas_threads()) == {1}
        for i in range(n_threads):
            leave[i].set()
            assert left[i].wait(10), f"thread {i} did not leave"
            if i < n_threads - 1:
                assert set(_blas_threads()) == {1}, f"BLAS threaded again after {i + 1} of {n_threads} left"
        for t in threads:
            t.join(10)
        assert all(set(s) == {1} for s in seen), seen
        assert _blas_threads() == before
    finally:
        limits.restore_original_limits()


def test_random_interleavings_of_enter_and_exit():
    """Blocks entered and left in seeded random (non-nested) orders: one thread while any is open."""
    from dlfers._util.threads import single_threaded_blas

    limits = _threaded_blas(2)
    try:
        before = _blas_threads()
        rng = random.Random(1234)
        for _ in range(200):
            open_blocks: list = []
            for _ in range(rng.randint(1, 12)):
                if open_blocks and rng.random() < 0.45:
                    open_blocks.pop(rng.randrange(len(open_blocks))).__exit__(None, None, None)
                else:
                    cm = single_threaded_blas()
                    cm.__enter__()
                    open_blocks.append(cm)
                assert set(_blas_threads()) == ({1} if open_blocks else set(before))
            rng.shuffle(open_blocks)
            while open_blocks:
                assert set(_blas_threads()) == {1}
                open_blocks.pop().__exit__(None, None, None)
            assert _blas_threads() == before
    finally:
        limits.restore_original_limits()


def test_threads_entering_and_leaving_at_random_never_see_a_threaded_blas():
    from dlfers._util.threads import single_threaded_blas

    limits = _threaded_blas(2)
    try:
        before = _blas_threads()
        bad: list[list[int]] = []

        def work(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(150):
                with single_threaded_blas():
                    if rng.random() < 0.3:
                        time.sleep(rng.random() * 1e-4)
                    n = _blas_threads()
                    if set(n) != {1}:
                        bad.append(n)

        with ThreadPoolExecutor(6) as ex:
            list(ex.map(work, range(6)))
        assert not bad, f"{len(bad)} times a block ran with BLAS threads {bad[:3]}"
        assert _blas_threads() == before
    finally:
        limits.restore_original_limits()


def test_a_count_set_inside_the_limit_is_not_overwritten():
    from dlfers._util.threads import single_threaded_blas

    limits = _threaded_blas(2)
    try:
        with single_threaded_blas():
            inner = threadpoolctl.threadpool_limits(2, user_api="blas")  # someone else's choice
        assert set(_blas_threads()) == {2}
        inner.restore_original_limits()
    finally:
        limits.restore_original_limits()


# ------------------------------------------------------------- one model, many threads


def test_predict_image_from_8_threads_equals_serial(jaffe, jaffe_small):
    """One shared fitted model: 8 threads calling predict_image give the serial results."""
    from _trained import fast_model

    model = fast_model(jaffe_small)
    frames = [jaffe.images[i] for i in range(1, len(jaffe), 7)]  # 31 frames, mostly unseen
    serial = [model.predict_image(f) for f in frames]
    barrier = threading.Barrier(8)

    def run(i: int) -> list:
        barrier.wait(30)  # all eight start together
        # each thread its share of the frames, then the first four, which every thread predicts at once
        return [model.predict_image(frames[j]) for j in [*range(i, len(frames), 8), 0, 1, 2, 3]]

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(run, range(8)))
    for i, got in enumerate(results):
        want = [serial[j] for j in range(i, len(frames), 8)] + serial[:4]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert [(r.found, r.box, r.label) for r in g] == [(r.found, r.box, r.label) for r in w]
            assert [r.probabilities for r in g] == [r.probabilities for r in w]  # exactly equal floats
    assert sum(r.found for rs in serial for r in rs) > 20
