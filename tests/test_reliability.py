"""Issue 24 (reliability round 2): each attacked case as a test.

Families: ownership of output folders, sweep completeness and the one reader, bounds, errors at
the edge, Dask deadlines. Servers bind 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from bilancio_lite.book import bucket_of, bucket_table


# --- bounds: the daily bucket table is O(horizon), not O(t) ------------------------------------
@given(st.integers(0, 50_000), st.integers(0, 40))
def test_bucket_table_covers_only_the_days_ahead(t: int, ahead: int) -> None:
    max_due = t + ahead
    table = bucket_table(t, max_due)
    assert len(table) == ahead + 1  # independent of t: a run's cost is linear in t_end
    for due in range(max(0, t - 5), max_due + 1):
        assert table[due] == bucket_of(due - t)
