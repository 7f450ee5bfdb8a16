import pytest

from quotalab.clock import EngineClock, OffsetClock, SystemClock, VirtualClock


def test_virtual_clock_moves_only_when_told(clock: VirtualClock) -> None:
    start = clock.now()
    assert clock.now() == start
    assert clock.advance(2.5) == start + 2.5
    clock.set(start + 10)
    assert clock.now() == start + 10


def test_virtual_clock_refuses_to_go_back(clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(clock.now() - 1)


def test_the_engine_clock_moves_for_the_engine_alone() -> None:
    clock = EngineClock(100.0)
    clock.move_to(101.0)
    assert clock.now() == 101.0
    with pytest.raises(ValueError, match="cannot go back"):
        clock.move_to(100.0)
    for move in (lambda: clock.set(200.0), lambda: clock.advance(5.0)):
        with pytest.raises(TypeError, match=r"yielding Sleep\(seconds\)"):
            move()
    assert clock.now() == 101.0


def test_offset_clock_skews_its_base(clock: VirtualClock) -> None:
    skewed = OffsetClock(clock, offset_s=-30)
    assert skewed.now() == clock.now() - 30
    clock.advance(5)
    assert skewed.now() == clock.now() - 30


def test_system_clock_applies_offset() -> None:
    plain, ahead = SystemClock(), SystemClock(offset_s=3600)
    assert 3599 < ahead.now() - plain.now() < 3601
