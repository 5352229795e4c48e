import math

from hypothesis import given
from hypothesis import strategies as st

from domain.simulations import Side, Trade, aggregate_buckets, equity_curve

pnls = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def trades(draw: st.DrawFn) -> list[Trade]:
    count = draw(st.integers(min_value=0, max_value=40))
    result = []
    for i in range(count):
        bar = draw(st.integers(min_value=0, max_value=10**18 // 2))
        result.append(
            Trade(
                trade_id=i + 1,
                bar_timestamp=bar,
                side=draw(st.sampled_from(list(Side))),
                pnl=draw(st.none() | pnls),
                return_pct=draw(st.none() | st.floats(-100, 100)),
                exit_timestamp=draw(st.none() | st.just(bar + 10)),
            )
        )
    return result


@given(trades())
def test_the_all_bucket_is_the_sum_of_the_long_and_short_buckets(sample: list[Trade]) -> None:
    every, long_, short = aggregate_buckets(sample)
    assert (every.bucket, long_.bucket, short.bucket) == ("all", "long", "short")
    assert every.trade_count == long_.trade_count + short.trade_count == len(sample)
    assert every.win_count == long_.win_count + short.win_count
    assert every.loss_count == long_.loss_count + short.loss_count
    assert math.isclose(every.total_pnl, long_.total_pnl + short.total_pnl, rel_tol=1e-9, abs_tol=1e-6)
    assert every.max_win == max(long_.max_win, short.max_win)
    assert every.max_loss == min(long_.max_loss, short.max_loss)


@given(trades())
def test_bucket_counts_and_extremes_agree_with_the_trades(sample: list[Trade]) -> None:
    every = aggregate_buckets(sample)[0]
    values = [t.pnl or 0.0 for t in sample]
    assert every.win_count == sum(v > 0 for v in values)
    assert every.loss_count == sum(v < 0 for v in values)
    assert every.win_count + every.loss_count <= every.trade_count
    assert every.max_win >= 0 >= every.max_loss
    if sample:
        assert math.isclose(every.avg_pnl * len(sample), every.total_pnl, rel_tol=1e-9, abs_tol=1e-6)
    else:
        assert every.avg_pnl == 0.0


def test_an_equity_curve_starts_at_the_capital_and_adds_each_closed_trade_in_time_order() -> None:
    sample = [
        Trade(trade_id=2, bar_timestamp=200, side=Side.SHORT, pnl=-50.0, exit_timestamp=260, entry_timestamp=200),
        Trade(trade_id=1, bar_timestamp=100, side=Side.LONG, pnl=100.0, exit_timestamp=150, entry_timestamp=90),
        Trade(trade_id=3, bar_timestamp=300, side=Side.LONG, pnl=None),
    ]
    points = equity_curve(sample, 1000.0)
    assert [(p.timestamp, p.equity) for p in points] == [(90, 1000.0), (150, 1100.0), (260, 1050.0)]
    assert points[2].drawdown == 50.0 / 1100.0
    assert points[0].drawdown == points[1].drawdown == 0.0


@given(trades(), st.floats(min_value=1.0, max_value=1e7))
def test_an_equity_curve_has_one_point_per_closed_trade_plus_the_start(sample: list[Trade], capital: float) -> None:
    points = equity_curve(sample, capital)
    closed = [t for t in sample if t.pnl is not None]
    assert len(points) == (len(closed) + 1 if closed else 0)
    assert [p.timestamp for p in points[1:]] == sorted(p.timestamp for p in points[1:])
    assert all(p.drawdown >= 0 for p in points)
