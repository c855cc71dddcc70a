"""Who defaults and who uses the dealer, with controls (§8.6 E; issue 21, notebook 04).

One logistic regression per outcome over the traders of :func:`trader_initial_conditions`:

- **default**: ``defaulted`` in either regime (both rows of every trader, the passive and the
  active one) on the initial cash/debt ratio, claims/debt (``init_claims_face /
  init_liability_face``), the maturity mismatch (days from its own due day to its debtor's, §2.2)
  and the regime (``active``: 1 with the dealer);
- **dealer use**: ``used_dealer`` (active rows) on the same initial conditions.

The grid axes are controls (log kappa, log c, mu, rho, as numbers: a dummy per level would be
perfectly separated where nobody defaults). Standard errors are clustered by replicate seed (the
sampling unit) when the traders come from two seeds or more; with one seed they are
heteroskedasticity-robust (HC1) and the table says so. Cluster-robust errors need many clusters:
with a handful of seeds they understate the uncertainty (use R >= 20, as plan024_r20). The table gives the average marginal
effects (statsmodels ``get_margeff``, ``at="overall"``): the change in probability per unit of
each regressor, averaged over the traders.

Traders that cannot default, with initial cash covering their debt (cash/debt >= 1: under the
default rules their dues repeat every cycle with the same cash), are left out of both fits and
reported separately (:func:`cannot_default_summary`): they never trade and dilute every bin.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._common import empty_frame, require

__all__ = ["REGRESSORS", "MARGINS_COLUMNS", "logit_frame", "fit_logits", "cannot_default_summary",
           "takeaway_margins"]

#: The regressors of interest (marginal effects are reported for these) and the grid controls.
REGRESSORS: dict[str, str] = {
    "cash_debt": "initial cash / debt",
    "claims_debt": "initial claims / debt",
    "mismatch": "maturity mismatch (days)",
    "active": "regime: with the dealer (active)",
}
CONTROLS: tuple[str, ...] = ("log_kappa", "log_c", "mu", "rho")
MARGINS_COLUMNS: list[str] = ["outcome", "regressor", "description", "dy_dx", "std_err", "ci_low", "ci_high",
                              "p_value", "n_obs", "n_clusters", "se_type", "mean_outcome", "converged"]
SUMMARY_COLUMNS: list[str] = ["group", "n_traders", "default_rate_passive", "default_rate_active",
                              "dealer_use_rate"]


def logit_frame(traders: pd.DataFrame) -> pd.DataFrame:
    """One row per (pair, trader, regime) with the regressors, the controls, ``defaulted``,
    ``used_dealer`` (active rows), ``seed`` and ``can_default`` (cash/debt < 1)."""
    need = ["kappa", "concentration", "mu", "outside_mid_ratio", "seed", "trader_id", "init_cash_debt_ratio",
            "init_claims_face", "init_liability_face", "maturity_mismatch", "defaulted_passive",
            "defaulted_active", "used_dealer"]
    require(traders, need, "trader_initial_conditions")
    t = traders.dropna(subset=["init_cash_debt_ratio", "maturity_mismatch", "init_claims_face"])
    t = t.loc[t["init_liability_face"] > 0]
    base = pd.DataFrame({
        "seed": t["seed"].to_numpy(), "cash_debt": t["init_cash_debt_ratio"].astype("float64").to_numpy(),
        "claims_debt": (t["init_claims_face"] / t["init_liability_face"]).astype("float64").to_numpy(),
        "mismatch": t["maturity_mismatch"].astype("float64").to_numpy(),
        "log_kappa": np.log(t["kappa"].astype("float64").to_numpy()),
        "log_c": np.log(t["concentration"].astype("float64").to_numpy()),
        "mu": t["mu"].astype("float64").to_numpy(), "rho": t["outside_mid_ratio"].astype("float64").to_numpy(),
        "used_dealer": t["used_dealer"].astype(bool).astype(int).to_numpy()})
    base["can_default"] = base["cash_debt"] < 1.0
    passive = base.assign(active=0, defaulted=t["defaulted_passive"].astype(bool).astype(int).to_numpy())
    active = base.assign(active=1, defaulted=t["defaulted_active"].astype(bool).astype(int).to_numpy())
    return pd.concat([passive, active], ignore_index=True)


def _fit(frame: pd.DataFrame, outcome: str, regressors: list[str]) -> pd.DataFrame:
    import statsmodels.formula.api as smf  # imported here: statsmodels costs ~1 s to import

    formula = f"{outcome} ~ " + " + ".join(regressors + list(CONTROLS))
    n_seeds = int(frame["seed"].nunique())
    if n_seeds >= 2:
        groups = pd.factorize(frame["seed"], sort=True)[0]
        cov = dict(cov_type="cluster", cov_kwds={"groups": groups})
        se_type = "clustered by seed"
    else:
        cov = dict(cov_type="HC1")
        se_type = "HC1, one seed: no clustering possible"
    with warnings.catch_warnings():  # non-convergence is reported in the table, not as a warning
        warnings.simplefilter("ignore")
        res = smf.logit(formula, data=frame).fit(disp=0, maxiter=200, **cov)
        mfx = res.get_margeff(at="overall").summary_frame()
    converged = bool(res.mle_retvals.get("converged", False))
    rows = []
    for r in regressors:
        m = mfx.loc[r]
        rows.append({"outcome": outcome, "regressor": r, "description": REGRESSORS[r],
                     "dy_dx": float(m["dy/dx"]), "std_err": float(m["Std. Err."]),
                     "ci_low": float(m["Conf. Int. Low"]), "ci_high": float(m["Cont. Int. Hi."]),
                     "p_value": float(m["Pr(>|z|)"]), "n_obs": int(res.nobs),
                     "n_clusters": n_seeds if n_seeds >= 2 else 0, "se_type": se_type,
                     "mean_outcome": float(frame[outcome].mean()), "converged": converged})
    return pd.DataFrame(rows, columns=MARGINS_COLUMNS)


def fit_logits(frame: pd.DataFrame) -> pd.DataFrame:
    """Average marginal effects of the two logits (module docstring) over the traders that can
    default; an outcome without variation (e.g. nobody used the dealer) gives no rows."""
    sub = frame.loc[frame["can_default"]]
    parts = []
    if sub["defaulted"].nunique() == 2:
        parts.append(_fit(sub, "defaulted", ["cash_debt", "claims_debt", "mismatch", "active"]))
    act = sub.loc[sub["active"] == 1]
    if act["used_dealer"].nunique() == 2:
        parts.append(_fit(act, "used_dealer", ["cash_debt", "claims_debt", "mismatch"]))
    if not parts:
        return empty_frame(MARGINS_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def cannot_default_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The traders left out (cash/debt >= 1) next to those fitted: counts, default rates per regime
    and the share that used the dealer."""
    rows = []
    for name, can in (("can default (cash/debt < 1): fitted", True), ("cash/debt >= 1: left out", False)):
        g = frame.loc[frame["can_default"] == can]
        p, a = g.loc[g["active"] == 0], g.loc[g["active"] == 1]
        rows.append({"group": name, "n_traders": len(a),
                     "default_rate_passive": float(p["defaulted"].mean()) if len(p) else np.nan,
                     "default_rate_active": float(a["defaulted"].mean()) if len(a) else np.nan,
                     "dealer_use_rate": float(a["used_dealer"].mean()) if len(a) else np.nan})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def takeaway_margins(margins: pd.DataFrame) -> str:
    """One sentence per outcome: the regressors with p < 0.05, largest |effect| first."""
    if margins.empty:
        return "No outcome varies among the traders that can default: nothing to fit."
    parts = []
    for outcome, g in margins.groupby("outcome", sort=False):
        sig = g.loc[g["p_value"] < 0.05].assign(_a=lambda d: d["dy_dx"].abs()).sort_values(
            ["_a", "regressor"], ascending=[False, True], kind="mergesort")
        name = "default" if outcome == "defaulted" else "dealer use"
        if sig.empty:
            parts.append(f"No initial condition moves the probability of {name} significantly (p < 0.05)")
        else:
            eff = "; ".join(f"{r.description} {r.dy_dx:+.3f}" + (" (with vs without)" if r.regressor == "active"
                                                                  else " per unit") for r in sig.itertuples())
            note = "" if g["converged"].all() else " (the fit did not converge: read with care)"
            parts.append(f"Probability of {name}, holding the grid fixed, standard errors "
                         f"{g['se_type'].iloc[0]}{note}: {eff}")
    return ". ".join(parts) + "."
