"""§1 parameters: defaults, bad input rejected with a message naming the field (and its allowed
range), and the CLI's behaviour on bad input."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from bilancio_lite.params import ModelParams, describe_errors


def test_defaults_are_the_spec_values():
    p = ModelParams()
    assert (p.n_traders, p.Q_total, p.face_value, p.maturity_days) == (100, 10_000, 20, 10)
    assert p.n_tickets == 500
    assert (p.kappa, p.concentration, p.mu, p.monotonicity) == (1.0, 1.0, 0.5, 0.0)
    assert p.liq_mode == "uniform" and p.outside_mid_ratio == 0.75
    assert (p.vbt_share, p.dealer_share, p.share_basis, p.match_cash) == (0.25, 0.125, "final", "face")
    assert (p.spread_short, p.spread_mid, p.spread_long) == (0.20, 0.30, 0.40)
    assert (p.phi_M, p.phi_O, p.O_min, p.M_min, p.clip_B) == (1.0, 0.6, 0.0, 0.02, True)
    assert p.anchor_update == "on" and p.anchor_scope == "system"
    assert p.H == 10 and p.theta == 0 and p.invest is False and p.H_inv == 3 and p.buffer == 20
    assert p.pi_sell == 0.5 and p.N_max is None and p.max_sells_day is None
    assert p.rollover is True and p.last_day == 30 and p.clearing == "simultaneous"
    assert p.vbt_depth == "finite" and p.seed == 42
    assert ModelParams(maturity_days=7, n_traders=10, Q_total=200).H == 7       # H = T
    assert ModelParams(maturity_days=7, n_traders=10, Q_total=200).last_day == 21   # t_end = 3T


def test_params_are_frozen():
    p = ModelParams()
    with pytest.raises(ValidationError):
        p.kappa = 2.0


# (kwargs, field that must be named, allowed-range text that must appear or None)
BAD = [
    (dict(kappa=0), "kappa", r"\(0,"),
    (dict(kappa=-1), "kappa", r"\(0,"),
    (dict(kappa="abc"), "kappa", None),
    (dict(vbt_share=0.6, dealer_share=0.4), "vbt_share", r"< 1"),
    (dict(vbt_share=0.9, dealer_share=0.2), "dealer_share", r"< 1"),
    (dict(vbt_share=-0.1), "vbt_share", r"\[0, 1\)"),
    (dict(n_traders=1), "n_traders", r"\[2,"),
    (dict(n_traders=2.5), "n_traders", None),
    (dict(Q_total=10_010), "Q_total", None),                 # not a multiple of S = 20
    (dict(Q_total=10_000, face_value=30), "face_value", None),
    (dict(outside_mid_ratio=0), "outside_mid_ratio", r"\(0,"),
    (dict(outside_mid_ratio=-0.5), "outside_mid_ratio", r"\(0,"),
    (dict(bogus_key=1), "bogus_key", None),
    (dict(mu=1.5), "mu", r"\[0, 1\]"),
    (dict(mu=-0.1), "mu", r"\[0, 1\]"),
    (dict(monotonicity=-1.5), "monotonicity", r"\[-1, 1\]"),
    (dict(pi_sell=1.2), "pi_sell", r"\[0, 1\]"),
    (dict(liq_mode="single_at"), "liq_single_at", None),
    (dict(liq_mode="single_at", liq_single_at=101), "liq_single_at", None),
    (dict(liq_mode="vector", liq_vector=(1.0, 2.0)), "liq_vector", None),
    (dict(liq_mode="vector", liq_vector=tuple([1.0] * 99 + [0.0])), "liq_vector", None),
    (dict(maturity_days=1), "maturity_days", r"\[2,"),
    (dict(theta=-0.1), "theta", r"\[0,"),
    (dict(clearing="fancy"), "clearing", r"simultaneous.*sequential"),
    (dict(share_basis="half"), "share_basis", r"final.*original"),
    (dict(vbt_depth="deep"), "vbt_depth", r"finite.*infinite"),
    (dict(n_traders=600), "n_traders", None),               # Q/S = 500 < N
    (dict(concentration=0), "concentration", r"\(0,"),
    (dict(face_value=0), "face_value", r"\(0,"),
    (dict(N_max=0), "N_max", r"\[1,"),
    (dict(t_end=-1), "t_end", r"\[0,"),
    (dict(seed=-1), "seed", r"\[0,"),
    (dict(spread_mid=-0.1), "spread_mid", r"\[0,"),
    (dict(rollover="maybe"), "rollover", None),
]


@pytest.mark.parametrize("kw,field,rng", BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_input_is_rejected_with_a_named_field(kw, field, rng):
    with pytest.raises(ValidationError) as exc:
        ModelParams(**kw)
    lines = describe_errors(exc.value)
    text = "\n".join(lines)
    assert lines and all(isinstance(x, str) and x for x in lines)
    assert field in text, text
    if rng is not None:
        assert re.search(rng, text), text


def test_at_least_fifteen_distinct_bad_inputs():
    assert len({b[1] for b in BAD}) >= 15 and len(BAD) >= 15


@pytest.mark.parametrize("kw", [dict(kappa=1e-9), dict(mu=0.0), dict(mu=1.0), dict(monotonicity=-1.0),
                                dict(pi_sell=0.0), dict(n_traders=2, Q_total=40), dict(n_traders=500),
                                dict(maturity_days=2), dict(vbt_share=0.5, dealer_share=0.49),
                                dict(liq_mode="single_at", liq_single_at=100)])
def test_boundary_values_are_accepted(kw):
    ModelParams(**kw)


def test_infinite_Q_total_is_a_validation_error():
    with pytest.raises(ValidationError) as exc:
        ModelParams(Q_total=float("inf"))
    assert "Q_total" in "\n".join(describe_errors(exc.value))


# --- CLI --------------------------------------------------------------------------------------
def _cli() -> list[str]:
    # this interpreter's package, never another `bilancio-lite` found on PATH
    return [sys.executable, "-m", "bilancio_lite"]


def _run(*args):
    return subprocess.run(_cli() + list(args), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,field", [(["--kappa", "-1"], "kappa"), (["--mu", "2"], "mu"),
                                        (["--Q-total", "10010"], "Q_total")])
def test_cli_bad_input_exits_2_without_traceback(args, field):
    r = _run("pair", *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert field in r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout


def test_cli_infinite_Q_total_exits_2():
    r = _run("pair", "--Q-total", "inf")
    assert r.returncode == 2 and "Q_total" in r.stderr and "Traceback" not in r.stderr


def test_cli_pair_runs_and_prints_both_deltas():
    r = _run("pair", "--n-traders", "20", "--Q-total", "2000")
    assert r.returncode == 0, r.stderr
    assert "delta passive" in r.stdout and "delta active" in r.stdout
    assert "Traceback" not in r.stderr
