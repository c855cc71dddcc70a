"""Sweep files (`params/*.yaml`, spec §6.4): validation, defaults, grid expansion and shards.

A sweep file names fixed model parameters, a grid of axes, replicates and output options::

    name: plan024                 # default: the file's stem; names the output folder
    model: {n_traders: 100}       # fixed ModelParams fields (every other field keeps its default)
    grid:                         # axes: lists of values; keys are ModelParams fields
      kappa: [0.25, 0.5, 1, 2, 4]
      mu: [0, 0.5, 1]
    replicates: 1                 # R; pair seed s = base_seed + r, replicate = r (§6.3)
    base_seed: 42
    output: {detailed_logging: true, shard_size: 32, format: parquet}   # or format: csv
    variants:                     # optional: named sets of model overrides, each crossed with the grid
      baseline: {}
      horizon_3: {horizon_H: 3}

Grid axes may be any ModelParams field; axes other than kappa, c, mu and rho are named in the pair
id (``…_s42_horizon_H-3``), and with ``variants`` every pair id starts with its variant
(``horizon_3__k1_c1_mu0.5_rho0.75_s42``), so run folders, per-run rows (their ``run_id``),
comparison rows (their ``variant`` column and run ids) and registry rows identify both; a sweep
without variants and extra axes keeps the Plan 024 ids. A variant may override fixed model fields
but not a grid axis (§6.4).

Every level forbids unknown keys, a key written twice in one mapping is an error (YAML loaders
silently keep the last one), a bool is not a number (``kappa: [true, 2]`` is refused, not read as
1.0), and an empty file is refused (it would run one default pair). Errors are
:class:`~bilancio_lite.errors.SweepConfigError` (a kind of bad input), one line per problem,
each naming its path in the file (``grid.kapas: unknown key (did you mean 'kappa'?)``,
``model.kappa: Input should be greater than 0 (got -1); allowed range (0, 1e+06]``). Every grid
cell must also validate as :class:`ModelParams`; the first failing cell is reported.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import SweepConfigError
from ..params import OMITTED_AT_DEFAULT, ModelParams, describe_errors
from ..resources import outputs_dir, params_dir, shipped_sweep_file, shipped_sweeps
from ..schema import GRID_AXES

#: Most pairs `bilancio-lite sweep` runs without ``--yes`` (Plan 024 with R = 20 has 12,500).
MAX_PAIRS = 50_000
#: Most YAML values a sweep file may expand to through anchors and aliases (an alias bomb is refused).
MAX_YAML_NODES = 100_000

#: The repository root; the smoke sweep (params/smoke.yaml, or its shipped copy) is the default of
#: the shard notebook and the analysis notebooks, written to outputs/smoke (bilancio_lite.resources).
REPO = Path(__file__).resolve().parents[2]
SMOKE_FILE = params_dir() / "smoke.yaml"
SMOKE_OUT = outputs_dir() / "smoke"

#: ModelParams fields the sweep sets itself: they may appear neither in `model` nor in `grid`.
RESERVED = {
    "seed": "set by the sweep as base_seed + replicate (§6.3); use base_seed",
    "replicate": "set by the sweep (0..replicates-1); use replicates",
    "detailed_logging": "set by output.detailed_logging",
    "variant": "set by the sweep from the names under variants",
    "id_axes": "set by the sweep (the grid axes named in the pair id)",
}
#: Variant names: letters and digits, joined by single '-', '.' or '_' (never '__', the separator
#: between the variant and the rest of the pair id).
VARIANT_NAME = r"^[A-Za-z0-9]+(?:[-._][A-Za-z0-9]+)*$"
MODEL_FIELDS = tuple(ModelParams.model_fields)


# --- the file's structure ----------------------------------------------------------------------
#: output.attribution when the sweep file does not say (§12). Measured on plan024 by
#: benchmarks/bench_attribution.py (2 workers, loaded machine): harmed adds 42% to the sweep's time,
#: changed 526%; both exceed the 40% budget, so the default stays off and every existing output
#: (the store's file set included) is unchanged. A sweep file asks for it: `attribution: harmed`.
DEFAULT_ATTRIBUTION = "off"


class OutputOptions(BaseModel):
    """How a sweep writes its output (conventions: Outputs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detailed_logging: bool | list[dict[str, Any]] = Field(
        True, description="write trades.csv and inventory_timeseries.csv rows: true (all pairs), false "
                          "(header-only files), or a list of cell selectors such as [{kappa: 0.5, mu: 0}]")
    shard_size: int = Field(32, ge=1, le=100_000, strict=True,
                            description="pairs per shard (one notebook run per shard)")
    format: Literal["parquet", "csv"] = Field(
        "parquet", description="parquet: tables/<table>/ Parquet parts, one per shard (issue 10); "
                               "csv: per-run CSV folders {passive,active}/runs/<run_id>/*.csv")
    attribution: Literal["off", "harmed", "changed"] = Field(
        DEFAULT_ATTRIBUTION,
        description="counterfactual attribution per changed trader (§12): the store table attribution and "
                    "revert counts in comparison.csv; harmed: harmed traders only; changed: harmed, rescued "
                    f"and moved traders; off: none. Unset: {DEFAULT_ATTRIBUTION} (always off with format csv)")

    @model_validator(mode="before")
    @classmethod
    def _default_attribution(cls, data: Any) -> Any:
        """Unset (or null) attribution: off under format csv, DEFAULT_ATTRIBUTION otherwise."""
        if isinstance(data, dict) and data.get("attribution") is None:
            data = {**data, "attribution": "off" if data.get("format") == "csv" else DEFAULT_ATTRIBUTION}
        return data

    @model_validator(mode="after")
    def _attribution_needs_parquet(self) -> "OutputOptions":
        if self.format == "csv" and self.attribution != "off":
            raise ValueError("attribution must be off with format csv (the attribution table lives in the "
                             "Parquet store)")
        return self


class SweepConfig(BaseModel):
    """A validated sweep file. Use :func:`load_sweep_config` or :meth:`from_dict` to build one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=100,
                      description="sweep name; the default output folder is outputs/<name>")
    description: str = Field("", description="free text")
    model: dict[str, Any] = Field(default_factory=dict, description="fixed ModelParams fields")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="axes: ModelParams field -> values")
    replicates: int = Field(1, ge=1, le=100_000, strict=True, description="R: replicates per grid cell")
    base_seed: int = Field(42, ge=0, le=2**62, strict=True, description="pair seed s = base_seed + replicate")
    output: OutputOptions = Field(default_factory=OutputOptions)
    variants: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict, description="named sets of model overrides, each crossed with the grid (§6.4)")

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, default_name: str | None = None, source: str | None = None,
                  max_pairs: int | None = None, **overrides: Any) -> "SweepConfig":
        """Validate a parsed sweep file; fill every default (resolved `model`, normalised grid values).

        `overrides` (``replicates``, ``shard_size``, ``format``) replace the file's values before
        validation. ``max_pairs``: refuse a sweep of more pairs, before its cells are validated one
        by one (`bilancio-lite sweep` passes :data:`MAX_PAIRS` unless ``--yes``).
        """
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SweepConfigError([f"top level: expected a mapping of keys, got {type(data).__name__}"], source)
        data = dict(data)
        if default_name is not None:
            data.setdefault("name", default_name)
        for key, value in overrides.items():
            if value is None:
                continue
            if key in ("shard_size", "format"):
                out = data.get("output") if isinstance(data.get("output"), dict) else {}
                data["output"] = {**out, key: value}
                if key == "format" and value == "csv":  # --format csv: the csv layout has no attribution table
                    data["output"]["attribution"] = "off"
            else:
                data[key] = value
        try:
            raw = cls.model_validate(data)
        except ValidationError as e:
            raise SweepConfigError(_structure_errors(e), source) from None
        lines: list[str] = []
        model = _resolve_model(raw, lines)
        if lines:  # still report unknown grid keys, then stop
            _check_keys("grid", raw.grid, lines, model=raw.model)
        else:
            grid = _resolve_grid(raw, model, lines)
            _check_selectors(raw.output.detailed_logging, lines)
            variants = _resolve_variants(raw, model, lines)
        if lines:
            raise SweepConfigError(lines, source)
        cfg = raw.model_copy(update={"model": model, "grid": grid, "variants": variants})
        if max_pairs is not None and cfg.n_pairs > max_pairs:
            nv = f" x {len(cfg.variants)} variants" if cfg.variants else ""
            raise SweepConfigError([f"the sweep has {cfg.n_pairs:,} pairs ({cfg.n_cells:,} grid cells x "
                                    f"{cfg.replicates} replicate(s){nv}), above the limit of {max_pairs:,}; "
                                    f"shrink the grid, or pass --yes to run it anyway"], source)
        _check_cells(cfg, source)
        return cfg

    # --- derived ---------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        n = 1
        for values in self.grid.values():
            n *= len(values)
        return n

    @property
    def n_pairs(self) -> int:
        return self.n_cells * self.replicates * max(1, len(self.variants))

    @property
    def id_axes(self) -> tuple[str, ...]:
        """Grid axes named in the pair id besides kappa, c, mu and rho (file order)."""
        return tuple(a for a in self.grid if a not in GRID_AXES)

    def variant_items(self) -> list[tuple[str, dict[str, Any]]]:
        """(name, overrides) per variant; one unnamed variant ("", {}) for a sweep without variants."""
        return list(self.variants.items()) or [("", {})]

    def n_shards(self, shard_size: int | None = None) -> int:
        k = shard_size or self.output.shard_size
        return -(-self.n_pairs // k)

    def resolved(self) -> dict[str, Any]:
        """The sweep as plain data with every default filled in (written as `<out>/sweep.yaml`)."""
        return self.model_dump(mode="json")

    def config_hash(self) -> str:
        """Hash of everything that determines the pairs' results: model, grid, replicates,
        base_seed and output.detailed_logging (not the name, description or shard size)."""
        d = self.resolved()
        ident = {"model": d["model"], "grid": {k: d["grid"][k] for k in sorted(d["grid"])},
                 "replicates": d["replicates"], "base_seed": d["base_seed"],
                 "detailed_logging": d["output"]["detailed_logging"]}
        if d["output"]["format"] != "parquet":  # (parquet, the default, keeps the hash it had)
            ident["format"] = d["output"]["format"]
        if d["variants"]:  # only then: the hashes of sweeps without variants stay as they were
            ident["variants"] = d["variants"]
        text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        nv = f" x {len(self.variants)} variants" if self.variants else ""
        head = (f"# resolved sweep file (every default filled in): {self.n_pairs} pairs = "
                f"{self.n_cells} cells x {self.replicates} replicate(s){nv}\n"
                f"# config hash {self.config_hash()}\n")
        return head + yaml.dump(self.resolved(), Dumper=_Dumper, sort_keys=False, width=100)

    # --- pairs and shards --------------------------------------------------------------------
    def cells(self) -> Iterator[dict[str, Any]]:
        axes = list(self.grid)
        for values in itertools.product(*(self.grid[a] for a in axes)):
            yield dict(zip(axes, values))

    def logging_for(self, params: dict[str, Any]) -> bool:
        sel = self.output.detailed_logging
        if isinstance(sel, bool):
            return sel
        return any(all(_same(params.get(k), v) for k, v in s.items()) for s in sel)

    def pair_params(self, variant: str, overrides: dict[str, Any], cell: dict[str, Any],
                    replicate: int) -> ModelParams:
        """The parameters of one pair: model, then the variant's overrides, then the grid cell."""
        values = {**self.model, **overrides, **cell, "seed": self.base_seed + replicate,
                  "replicate": replicate, "variant": variant, "id_axes": self.id_axes}
        values["detailed_logging"] = self.logging_for(values)
        return ModelParams(**values)

    def pairs(self) -> list["PairSpec"]:
        """All pairs in a deterministic order: variant (file order), replicate, then the grid axes
        in file order."""
        out: list[PairSpec] = []
        cells = list(self.cells())
        for name, overrides in self.variant_items():
            for r in range(self.replicates):
                for cell in cells:
                    p = self.pair_params(name, overrides, cell, r)
                    out.append(PairSpec(len(out), p.pair_id, r, p.seed, cell, p, name))
        return out

    def shards(self, shard_size: int | None = None) -> list[list["PairSpec"]]:
        k = shard_size or self.output.shard_size
        pairs = self.pairs()
        return [pairs[i:i + k] for i in range(0, len(pairs), k)]


@dataclass(frozen=True)
class PairSpec:
    """One pair of the sweep: its position, id, replicate, seed, grid cell and parameters."""

    index: int
    pair_id: str
    replicate: int
    seed: int
    cell: dict[str, Any]
    params: ModelParams
    variant: str = ""


def load_sweep_config(path: str | os.PathLike, **overrides: Any) -> SweepConfig:
    """Read and validate a sweep YAML file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        shipped = shipped_sweep_file(path)  # `bilancio-lite sweep plan024`: a shipped file by name
        if shipped is None:
            raise SweepConfigError([f"sweep file not found: {path} (nor is it the name of a shipped "
                                    f"sweep file: {', '.join(shipped_sweeps())})"])
        path = shipped
    try:
        text = path.read_text()
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        size = _expanded_size(root, {}, MAX_YAML_NODES)
        if size > MAX_YAML_NODES:
            raise SweepConfigError([f"the YAML expands (through its &anchors and *aliases) to more than "
                                    f"{MAX_YAML_NODES:,} values; a sweep file needs far fewer: write the "
                                    f"values out"], str(path))
        duplicates = _duplicate_keys(root)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SweepConfigError([f"invalid YAML: {' '.join(str(e).split())}"], str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SweepConfigError([f"cannot read the sweep file: {e}"], str(path)) from None
    if duplicates:
        raise SweepConfigError(duplicates, str(path))
    if data is None:
        raise SweepConfigError(["the sweep file is empty; give at least a grid (e.g. grid: {kappa: [0.5, 1]}) "
                                "or model parameters (see params/smoke.yaml)"], str(path))
    return SweepConfig.from_dict(data, default_name=path.stem, source=str(path), **overrides)


def _expanded_size(node: yaml.Node | None, memo: dict[int, int], limit: int) -> int:
    """How many nodes the YAML graph holds once every alias is expanded (stops counting past
    ``limit``); linear in the graph's size: a shared node is counted once per use, not walked again."""
    if node is None:
        return 0
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a cycle (an alias of an enclosing node) expands without end
    n = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            n += _expanded_size(k, memo, limit) + _expanded_size(v, memo, limit)
            if n > limit:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            n += _expanded_size(item, memo, limit)
            if n > limit:
                break
    memo[key] = min(n, limit + 1)
    return memo[key]


def _duplicate_keys(node: yaml.Node | None, path: str = "") -> list[str]:
    """One line per key written twice in the same mapping, e.g. ``grid.kappa: key written twice
    (lines 5 and 8); keep one``."""
    lines: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{path}.{key}" if path else str(key)
            line = key_node.start_mark.line + 1
            if key is not None and key in seen:
                lines.append(f"{where}: key written twice (lines {seen[key]} and {line}); keep one")
            elif key is not None:
                seen[key] = line
            lines += _duplicate_keys(value_node, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines += _duplicate_keys(item, f"{path}[{i}]")
    return lines


# --- validation helpers ---------------------------------------------------------------------
def _suggest(key: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(key), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _structure_errors(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            parent: type[BaseModel] = SweepConfig
            if len(e["loc"]) > 1 and e["loc"][0] == "output":
                parent = OutputOptions
            lines.append(f"{loc}: unknown key{_suggest(e['loc'][-1], parent.model_fields)}")
            continue
        # `grid.kappa` given as a scalar yields errors on the list type; keep the message short
        value = e.get("input")
        got = "" if isinstance(value, dict) else f" (got {value!r})"
        parent = OutputOptions if len(e["loc"]) > 1 and e["loc"][0] == "output" else SweepConfig
        rng = _field_range(parent, str(e["loc"][-1]))
        lines.append(f"{loc}: {e['msg']}{got}{'; ' + rng if rng else ''}")
    return lines


def _field_range(model: type[BaseModel], name: str) -> str:
    """``allowed range [lo, hi]`` of an integer field of the sweep file (from its constraints)."""
    info = model.model_fields.get(name)
    if info is None or info.annotation is not int:
        return ""
    lo = next((getattr(m, "ge") for m in info.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((getattr(m, "le") for m in info.metadata if getattr(m, "le", None) is not None), None)
    if lo is None and hi is None:
        return "a whole number"
    return f"allowed range: whole numbers in [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"


def _check_keys(section: str, keys: Any, lines: list[str], model: dict[str, Any] | None = None) -> None:
    for key in keys:
        if key in RESERVED:
            lines.append(f"{section}.{key}: not allowed here; {RESERVED[key]}")
        elif key not in ModelParams.model_fields:
            lines.append(f"{section}.{key}: unknown key{_suggest(key, MODEL_FIELDS)}")
        elif model is not None and key in model:
            lines.append(f"{section}.{key}: also set in model.{key}; keep only one of them")


def _resolve_model(raw: SweepConfig, lines: list[str]) -> dict[str, Any]:
    _check_keys("model", raw.model, lines)
    if lines:
        return {}
    try:
        p = ModelParams(**raw.model)
    except ValidationError as e:
        for ln in describe_errors(e, prefix="model."):
            lines.append(ln if ln.startswith("model.") else f"model: {ln}")
        return {}
    resolved = p.model_dump(mode="json")
    for key in list(RESERVED) + list(raw.grid):
        resolved.pop(key, None)
    for key in OMITTED_AT_DEFAULT:  # later fields at their default: earlier sweeps keep their hash
        if key in resolved and resolved[key] == ModelParams.model_fields[key].default:
            del resolved[key]
    return resolved


def _resolve_grid(raw: SweepConfig, model: dict[str, Any], lines: list[str]) -> dict[str, list[Any]]:
    given = {k: v for k, v in raw.model.items()}
    _check_keys("grid", raw.grid, lines, model=given)
    if lines:
        return {}
    grid: dict[str, list[Any]] = {}
    for axis, values in raw.grid.items():
        if not values:
            lines.append(f"grid.{axis}: list at least one value")
            continue
        normalised = []
        for i, v in enumerate(values):
            try:
                p = ModelParams(**{**model, axis: v})
            except ValidationError as e:
                for ln in describe_errors(e):
                    if ln.startswith(f"{axis}:"):
                        lines.append(f"grid.{axis}[{i}]:{ln[len(axis) + 1:]}")
                    else:  # a cross-field rule, reported against the value that broke it
                        lines.append(f"grid.{axis}[{i}] ({axis}={v!r}): {ln}")
                continue
            normalised.append(p.model_dump(mode="json")[axis])
        seen = set()
        for i, v in enumerate(normalised):
            k = json.dumps(v)
            if k in seen:
                lines.append(f"grid.{axis}[{i}]: duplicate value {v!r}")
            seen.add(k)
        grid[axis] = normalised
    return grid


def _check_selectors(sel: Any, lines: list[str]) -> None:
    if isinstance(sel, bool):
        return
    for i, s in enumerate(sel):
        if not s:
            lines.append(f"output.detailed_logging[{i}]: empty selector (it would match every pair)")
        for key in s:
            if key not in ModelParams.model_fields:
                lines.append(f"output.detailed_logging[{i}].{key}: unknown key{_suggest(key, MODEL_FIELDS)}")


def _resolve_variants(raw: SweepConfig, model: dict[str, Any], lines: list[str]) -> dict[str, dict[str, Any]]:
    """Check every variant: its name, and that each override names a ModelParams field that is
    neither set by the sweep nor a grid axis, with a valid value; values are normalised."""
    import re

    out: dict[str, dict[str, Any]] = {}
    for name, overrides in raw.variants.items():
        where = f"variants.{name}"
        if not re.match(VARIANT_NAME, str(name)) or len(str(name)) > 60:
            lines.append(f"{where}: invalid variant name; use letters and digits joined by single "
                         f"'-', '.' or '_' (at most 60 characters), e.g. horizon_3")
            continue
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, dict):
            lines.append(f"{where}: expected a mapping of model fields (e.g. {{horizon_H: 3}}), "
                         f"got {type(overrides).__name__}")
            continue
        bad = False
        for key in overrides:
            if key in RESERVED:
                lines.append(f"{where}.{key}: not allowed in a variant; {RESERVED[key]}")
                bad = True
            elif key not in ModelParams.model_fields:
                lines.append(f"{where}.{key}: unknown model field{_suggest(key, MODEL_FIELDS)}")
                bad = True
            elif key in raw.grid:
                lines.append(f"{where}.{key}: repeats the grid axis grid.{key}; a variant may not "
                             f"override a grid axis (drop it from the variant or from the grid)")
                bad = True
        if bad:
            continue
        try:
            p = ModelParams(**{**model, **overrides})
        except ValidationError as e:
            lines.extend(f"{where}.{ln}" if ln.split(":")[0] in overrides else f"{where}: {ln}"
                         for ln in describe_errors(e))
            continue
        dumped = p.model_dump(mode="json")
        out[str(name)] = {k: dumped[k] for k in overrides}
    return out


def _check_cells(cfg: SweepConfig, source: str | None) -> None:
    """Every (variant, cell) validates as ModelParams (the first failure is reported), then every
    pair id is unique (run folders are named by it; §6.4)."""
    seen: dict[str, str] = {}
    for name, overrides in cfg.variant_items():
        for cell in cfg.cells():
            desc = ", ".join(f"{k}={v!r}" for k, v in cell.items())
            where = f"variant {name!r}, grid cell ({desc})" if name else f"grid cell ({desc})"
            try:
                p = cfg.pair_params(name, overrides, cell, 0)
            except ValidationError as e:
                raise SweepConfigError([f"{where}: {ln}" for ln in describe_errors(e)], source) from None
            if p.pair_id in seen:  # cannot happen by construction; the check keeps it so
                raise SweepConfigError([f"{seen[p.pair_id]} and {where} share the pair id "
                                        f"{p.pair_id!r}; run folders are named by it"], source)
            seen[p.pair_id] = where


class _Dumper(yaml.SafeDumper):
    """Block-style mappings, flow-style lists of scalars (grid axes stay one line each)."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(x, (dict, list)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
    return a == b
