"""Builders shared by the test modules (plain functions and constants; fixtures live in conftest.py).

- :mod:`factories.sweeps`  the smoke sweep run inline (CSV layout or Parquet store), an injected
  pair failure, CSV comparison, the CLI in a subprocess (§6.4);
- :mod:`factories.frames`  hand-made sweep frames for the analysis tests (§7, §8.1–§8.5 columns);
- :mod:`factories.figures` the labelled-figure check of the plotting tests;
- :mod:`factories.books`   small hand-built books and markets (S = 1 vectors of §11), a scripted
  rng_trade, a run's trade/repayment rows as frames.

Test modules import from here and from tests/spec_oracle.py (the spec re-derived independently,
with the run Checker), never from each other.
"""
