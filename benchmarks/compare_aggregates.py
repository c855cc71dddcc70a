"""Compare the analysis tables of two reports on the same sweep (issue 25), side by side.

    python benchmarks/compare_aggregates.py OLD_SWEEP NEW_SWEEP

OLD_SWEEP and NEW_SWEEP are two copies of one sweep, each with ``bilancio-lite report`` run on it
(e.g. by the previous and the current version of the package). Prints:

- the size of each ``aggregate/`` folder (comparison.csv included) and of its largest tables;
- for every table written as CSV in both: whether the bytes are identical (``cmp``);
- for every table written as Parquet in NEW (a row-level table, ``schema.ROW_LEVEL_TABLES``) and as
  CSV in OLD: whether ``pandas.read_parquet(new).to_csv(index=False)`` gives OLD's CSV bytes, i.e.
  the Parquet file holds the same rows, columns and values;
- tables written by only one of them, and whether the executed notebooks (``reports/*.ipynb``)
  have the same text outputs (the sweep folder's name masked).

Exit status 1 if any table or notebook output differs. Prints figures only; not part of the tests.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import re
import sys
from pathlib import Path


def tables(folder: Path) -> dict[str, Path]:
    """{table name: file} of an aggregate/ folder (both formats)."""
    return {p.stem: p for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.suffix in (".csv", ".parquet")}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def text_outputs(nb_path: Path, mask: str) -> list[str]:
    """Every text output of an executed notebook, with ``mask`` (the sweep folder) replaced."""
    nb = json.loads(nb_path.read_text())
    out = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if "text" in o:
                out.append("".join(o["text"]))
            for kind, value in o.get("data", {}).items():
                if kind in ("text/plain", "text/html", "text/markdown"):
                    out.append("".join(value))
    return [re.sub(re.escape(mask), "<sweep>", t) for t in out]


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    args = ap.parse_args(argv)
    old_dir, new_dir = args.old / "aggregate", args.new / "aggregate"
    old, new = tables(old_dir), tables(new_dir)
    mb = 1e6
    print(f"aggregate/: {folder_bytes(old_dir) / mb:.1f} MB ({args.old}) -> "
          f"{folder_bytes(new_dir) / mb:.1f} MB ({args.new})")
    print(f"{'table':45s} {'old':>16s} {'new':>20s}")
    for name in sorted(old, key=lambda n: -old[n].stat().st_size)[:8]:
        o, n = old[name], new.get(name)
        shown = f"{n.stat().st_size / mb:8.2f} MB {n.suffix}" if n else "missing"
        print(f"{name:45s} {o.stat().st_size / mb:8.2f} MB {o.suffix:5s} {shown:>20s}")
    bad = 0
    same_csv = 0
    for name in sorted(set(old) & set(new)):
        o, n = old[name], new[name]
        if o.suffix == n.suffix == ".csv":
            if filecmp.cmp(o, n, shallow=False):
                same_csv += 1
            else:
                bad += 1
                print(f"DIFFERENT: {name}.csv")
        elif o.suffix == ".csv" and n.suffix == ".parquet":
            same = pd.read_parquet(n).to_csv(index=False).encode() == o.read_bytes()
            bad += not same
            print(f"{name}.parquet: {'the same rows as' if same else 'DIFFERENT from'} the old CSV "
                  f"({o.stat().st_size / mb:.2f} MB CSV -> {n.stat().st_size / mb:.2f} MB Parquet)")
        else:
            bad += 1
            print(f"UNEXPECTED formats: {o.name} -> {n.name}")
    print(f"{same_csv} CSV table(s) byte-identical (cmp)")
    for name in sorted(set(old) ^ set(new)):
        bad += 1
        print(f"only in {'old' if name in old else 'new'}: {name}")
    for nb in sorted((args.new / "reports").glob("*.ipynb")):
        before = args.old / "reports" / nb.name
        if not before.is_file():
            continue
        same = text_outputs(before, str(args.old.resolve())) == text_outputs(nb, str(args.new.resolve()))
        bad += not same
        print(f"{nb.name}: {'same text outputs' if same else 'DIFFERENT text outputs'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
