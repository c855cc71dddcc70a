"""The counterfactual attribution of a sweep, summarised (docs/model.md §12; notebooks 06 and 08).

Pure functions over the ``attribution`` table (one row per changed trader, columns of
``schema.ATTRIBUTION``) and the comparison rows: channel shares per rule set and change, mean
collateral per intervention, and how often notebook 06's first-match labels (:mod:`.why`) agree
with the counterfactual.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..schema import INTERVENTIONS, JOINT, NOT_EXPLAINED
from ._common import require, trader_index
from .why import pair_of

#: the channel columns of :func:`channel_shares`, in order: each single intervention, then the
#: labels for traders no single one reverts
CHANNELS: tuple[str, ...] = (*INTERVENTIONS, JOINT, NOT_EXPLAINED)
#: what each old first-match label (notebook 06, :mod:`.why`) claims in §12 terms
LABEL_CLAIMS: dict[str, str] = {
    "sold_claim_that_paid": "own_sales reverts it",
    "sold_claim_issuer_defaulted": "own_sales reverts it",
    "rescued_by_sale": "own_sales reverts it",
    "debtor_defaulted_active_only": "explained, not by own_sales",
    "debtor_rescued": "explained, not by own_sales",
}


def rule_set(comparison: pd.DataFrame) -> pd.Series:
    """A label per comparison row naming its rules: the variant when the sweep has variants,
    else ``rollover_price / rollover_lender``."""
    label = comparison["rollover_price"].astype(str) + " / " + comparison["rollover_lender"].astype(str)
    if "variant" in comparison.columns:
        v = comparison["variant"].fillna("").astype(str)
        label = label.where(v == "", v)
    return label


def with_rule_set(attribution: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """The attribution rows with the ``rule_set`` of their pair (joined on the active run id)."""
    key = pd.Series(rule_set(comparison).to_numpy(), index=comparison["active_run_id"].to_numpy())
    return attribution.assign(rule_set=attribution["run_id"].map(key).fillna(""))


def _groups(df: pd.DataFrame, by: list[str]):
    """(values, rows) per distinct combination of the ``by`` columns, sorted; one group of every
    row without ``by`` (or without rows)."""
    groups = (sorted({tuple(r) for r in df[by].itertuples(index=False, name=None)}, key=str)
              if by and len(df) else [()])
    for gv in groups:
        sub = df
        for k, v in zip(by, gv):
            sub = sub[sub[k] == v]
        yield gv, sub


def channel_shares(attribution: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per ``by`` group and change (harmed, rescued; moved only when present): the traders, and
    for each channel of :data:`CHANNELS` the share of them it explains. A trader that two single
    interventions revert counts for both, so the single shares can add up to more than 1;
    ``joint`` and ``not explained`` are shares of the traders no single intervention reverts.
    Groups sorted; every channel listed (0 when absent)."""
    require(attribution, ["change", "channel", *[f"{iv}_reverts" for iv in INTERVENTIONS]], "attribution")
    by = list(by)
    rows = []
    changes = ["harmed", "rescued"] + (["moved"] if (attribution["change"] == "moved").any() else [])
    for gv, sub in _groups(attribution, by):
        for change in changes:
            part = sub[sub["change"] == change]
            n = len(part)
            row = {**dict(zip(by, gv)), "change": change, "n_traders": n}
            for iv in INTERVENTIONS:
                row[iv] = part[f"{iv}_reverts"].sum() / n if n else 0.0
            for label in (JOINT, NOT_EXPLAINED):
                row[label] = (part["channel"] == label).sum() / n if n else 0.0
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "change", "n_traders", *CHANNELS])


def collateral_means(attribution: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per intervention (and ``by``): the counterfactual runs made, the share that reverted
    their trader, and the mean and maximum collateral (other traders whose outcome changed)."""
    by = list(by)
    rows = []
    for gv, sub in _groups(attribution, by):
        for iv in (*INTERVENTIONS, JOINT):
            ran = sub[sub[f"{iv}_applies"].astype(bool)]
            col = ran[f"{iv}_collateral"].astype("float64")
            rows.append({**dict(zip(by, gv)), "intervention": iv, "runs": len(ran),
                         "share_reverting": float(ran[f"{iv}_reverts"].mean()) if len(ran) else 0.0,
                         "mean_collateral": float(col.mean()) if len(ran) else 0.0,
                         "max_collateral": int(col.max()) if len(ran) else 0})
    return pd.DataFrame(rows, columns=[*by, "intervention", "runs", "share_reverting", "mean_collateral",
                                       "max_collateral"])


def label_agreement(mechanisms: pd.DataFrame, attribution: pd.DataFrame) -> pd.DataFrame:
    """Notebook 06's first-match label of every harmed or rescued trader (``why.trader_mechanisms``)
    next to its counterfactual channel, with what the label claims (:data:`LABEL_CLAIMS`) and
    whether the counterfactual agrees (blank for ``other``, which claims nothing). Traders the
    attribution does not cover (scope harmed) are left out."""
    require(mechanisms, ["pair_id", "trader_id", "outcome", "mechanism"], "mechanisms")
    att = attribution[attribution["change"].isin(["harmed", "rescued"])]
    att = att.assign(pair_id=pair_of(att["run_id"]))[["pair_id", "trader_id", "change", "channel",
                                                      "own_sales_reverts"]]
    context = [c for c in ("variant", "rollover_lender") if c in mechanisms.columns]
    out = mechanisms[["pair_id", *context, "trader_id", "outcome", "mechanism"]].merge(
        att, left_on=["pair_id", "trader_id", "outcome"], right_on=["pair_id", "trader_id", "change"],
        how="inner").drop(columns="change")
    out["claim"] = out["mechanism"].map(LABEL_CLAIMS).fillna("")
    own = out["own_sales_reverts"].astype(bool)
    explained = out["channel"] != NOT_EXPLAINED
    agree = pd.Series(pd.NA, index=out.index, dtype="boolean")
    is_own = out["claim"] == "own_sales reverts it"
    is_other = out["claim"] == "explained, not by own_sales"
    agree[is_own] = own[is_own]
    agree[is_other] = (explained & ~own)[is_other]
    out["agrees"] = agree
    out = out.assign(_t=out["trader_id"].map(trader_index)).sort_values(["pair_id", "_t"], kind="mergesort")
    return out.drop(columns="_t").reset_index(drop=True)


def agreement_rate(agreement: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per old label (and ``by``): traders, how many the counterfactual agrees with, the share,
    and the commonest counterfactual channel (ties: alphabetical)."""
    by = list(by)
    rows = []
    keys = [*by, "outcome", "mechanism"]
    for gv, part in agreement.groupby(keys, sort=True):
        gv = gv if isinstance(gv, tuple) else (gv,)
        claims = part["agrees"].notna()
        n_agree = int(part["agrees"].fillna(False).astype(bool).sum())
        counts = part["channel"].value_counts()
        top = sorted(counts.index, key=lambda c: (-counts[c], c))[0]
        rows.append({**dict(zip(keys, gv)), "n_traders": len(part), "claim": part["claim"].iloc[0] or "(none)",
                     "n_agree": n_agree if claims.any() else None,
                     "share_agree": n_agree / len(part) if claims.any() else None,
                     "commonest_channel": top})
    return pd.DataFrame(rows, columns=[*keys, "n_traders", "claim", "n_agree", "share_agree",
                                       "commonest_channel"])


def takeaway_channels(shares: pd.DataFrame, by: str | None = None) -> str:
    """One sentence per group: the channel explaining most harmed and most rescued traders."""
    parts = []
    groups = shares.groupby(by, sort=True) if by else [(None, shares)]
    for g, sub in groups:
        bits = []
        for change in ("harmed", "rescued"):
            row = sub[sub["change"] == change]
            if row.empty or int(row["n_traders"].iloc[0]) == 0:
                bits.append(f"no {change} trader")
                continue
            r = row.iloc[0]
            top = max(CHANNELS, key=lambda c: (r[c], -CHANNELS.index(c)))
            bits.append(f"{int(r['n_traders'])} {change}, most often {top} ({100 * r[top]:.0f}%)")
        parts.append((f"{g}: " if g is not None else "") + "; ".join(bits))
    return ". ".join(parts) + "."


def _outcome(day: object) -> str:
    return "none" if day is None or pd.isna(day) else f"day {int(day)}"


def outcome_table(attribution: pd.DataFrame) -> pd.DataFrame:
    """One row per changed trader (notebook 08): its change, passive and active outcome, channel,
    and for each intervention run its outcome, ``reverts`` when that is the passive outcome, and
    its collateral (``+k others``); blank where the intervention does not apply."""
    rows = []
    for r in attribution.to_dict("records"):
        row = {"trader_id": r["trader_id"], "change": r["change"], "passive": _outcome(r["default_day_passive"]),
               "active": _outcome(r["default_day_active"]), "channel": r["channel"]}
        for iv in (*INTERVENTIONS, JOINT):
            if not r[f"{iv}_applies"]:
                row[iv] = ""
                continue
            text = _outcome(r[f"{iv}_default_day"]) + (", reverts" if r[f"{iv}_reverts"] else "")
            k = int(r[f"{iv}_collateral"])
            row[iv] = text + (f", +{k} others" if k else "")
        rows.append(row)
    return pd.DataFrame(rows, columns=["trader_id", "change", "passive", "active", "channel", *INTERVENTIONS, JOINT])
