"""Benchmark and closing-note figures for the counterfactual attribution (docs/model.md §12).

    python benchmarks/bench_attribution.py time    [--keep DIR] [--workers 2]
    python benchmarks/bench_attribution.py figures --keep DIR

``time`` runs `bilancio-lite sweep params/plan024.yaml` (default engine) three times into DIR
(default: a temporary folder), side by side on this machine: with ``output.attribution`` off,
harmed and changed, and prints the wall times, the share each adds to the sweep's time, and
which default that gives (changed if it adds at most 40%, else harmed). It also runs
params/plan024_risk_priced.yaml with attribution changed, for the figures.

``figures`` reads the two ``changed`` stores in DIR and prints, for Plan 024 (par) and
risk-priced rollover: the channel shares of harmed and rescued traders, the mean collateral per
intervention, how often the old first-match labels of notebook 06 agree with the counterfactual,
and the seconds per pair spent on attribution (timed again in this process on every pair that
has a changed trader, and as the sweep-time difference per pair). Prints figures only; not part
of the test pass/fail.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PLANS = {"plan024": REPO / "params" / "plan024.yaml",
         "plan024_risk_priced": REPO / "params" / "plan024_risk_priced.yaml"}


def sweep_file(src: Path, scope: str, folder: Path) -> Path:
    data = yaml.safe_load(src.read_text())
    data.setdefault("output", {})["attribution"] = scope
    path = folder / f"{src.stem}_{scope}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(sweep: Path, out: Path, workers: int) -> float:
    cmd = [sys.executable, "-m", "bilancio_lite", "sweep", str(sweep), "--out", str(out), "--workers",
           str(workers), "--no-progress", "--force"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, sep="\n")
        raise SystemExit(f"{sweep.name}: exit status {proc.returncode}")
    return wall


def cmd_time(keep: Path, workers: int) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    times = {}
    for scope in ("off", "harmed", "changed"):
        f = sweep_file(PLANS["plan024"], scope, keep)
        times[scope] = run(f, keep / f"plan024_{scope}", workers)
        print(f"plan024, attribution {scope:8s}: {times[scope]:7.1f} s", flush=True)
    for scope in ("harmed", "changed"):
        print(f"  {scope} adds {100 * (times[scope] / times['off'] - 1):+.0f}% to the sweep's time "
              f"({(times[scope] - times['off']) / 625:.3f} s per pair)")
    default = "changed" if times["changed"] <= 1.4 * times["off"] else "harmed"
    print(f"default by the 40% rule: {default}")
    f = sweep_file(PLANS["plan024_risk_priced"], "changed", keep)
    t = run(f, keep / "plan024_risk_priced_changed", workers)
    print(f"plan024_risk_priced, attribution changed: {t:7.1f} s")


def cmd_figures(keep: Path, sample: int, only: str | None) -> None:
    import pandas as pd

    from bilancio_lite import simulate_pair
    from bilancio_lite.analysis import load_sweep, why
    from bilancio_lite.analysis.channels import agreement_rate, channel_shares, collateral_means, label_agreement
    from bilancio_lite.attribution import attribute
    from bilancio_lite.sweep import load_sweep_config

    pd.set_option("display.width", 160)
    for name, src in PLANS.items():
        if only and name != only:
            continue
        store = keep / f"{name}_changed"
        if not store.is_dir():
            print(f"{name}: no store at {store} (run `time` first)")
            continue
        sw = load_sweep(store)
        att = sw.attribution
        print(f"\n=== {name}: {len(sw.comparison)} pairs, {len(att)} changed traders "
              f"({(att['change'] == 'harmed').sum()} harmed, {(att['change'] == 'rescued').sum()} rescued, "
              f"{(att['change'] == 'moved').sum()} moved) ===")
        print("channel shares (share of the class's traders; a trader with two reverting channels counts in both):")
        print(channel_shares(att).to_string(index=False))
        print("mean collateral per intervention (other traders whose outcome changes, per run):")
        print(collateral_means(att).to_string(index=False))
        t = sw.read_for(why.trader_mechanisms)
        agree = label_agreement(why.trader_mechanisms(t["traders"], t["trades"], sw.comparison), att)
        print("old first-match labels vs the counterfactual (notebook 06):")
        print(agreement_rate(agree).to_string(index=False))
        claimed = agree["agrees"].notna()
        print(f"  overall: the counterfactual agrees with {int(agree.loc[claimed, 'agrees'].sum())} of "
              f"{int(claimed.sum())} labels that name a channel")
        config = load_sweep_config(src)
        ids = set(att["run_id"].str.removeprefix("active_"))
        specs = [p for p in config.pairs() if p.pair_id in ids]
        n_changed_pairs = len(specs)
        specs = specs[::max(1, len(specs) // sample)][:sample]  # an even sample of them
        t_sim = t_att = 0.0
        for spec in specs:
            t0 = time.perf_counter()
            pair = simulate_pair(spec.params)
            t1 = time.perf_counter()
            attribute(pair)
            t_att += time.perf_counter() - t1
            t_sim += t1 - t0
        n = len(sw.comparison)  # the pairs the store holds (a partial store: fewer than the grid)
        each = t_att / max(1, len(specs))
        print(f"attribution time, in this process, on {len(specs)} of the {n_changed_pairs} pairs with a changed "
              f"trader: {each:.3f} s each (simulating the pair: {t_sim / max(1, len(specs)):.3f} s); "
              f"so about {each * n_changed_pairs / n:.3f} s per pair of the {n} pairs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("time", "figures"))
    ap.add_argument("--keep", type=Path, default=None, help="folder for the sweeps (default: temporary)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample", type=int, default=40, help="figures: pairs timed in this process")
    ap.add_argument("--only", choices=tuple(PLANS), default=None, help="figures: one sweep only")
    args = ap.parse_args()
    if args.what == "time":
        if args.keep is None:
            with tempfile.TemporaryDirectory() as tmp:
                cmd_time(Path(tmp), args.workers)
        else:
            cmd_time(args.keep, args.workers)
    else:
        if args.keep is None:
            raise SystemExit("figures: --keep DIR (the folder `time` wrote)")
        cmd_figures(args.keep, args.sample, args.only)


if __name__ == "__main__":
    main()
