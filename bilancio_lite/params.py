"""Model parameters (spec §1) as a validated, immutable pydantic model.

Every default of §1 and every option the spec names lives here, with its allowed range. Invalid
input raises :class:`pydantic.ValidationError`; :func:`describe_errors` turns one into lines that
name the field, the value and the allowed range (used by the CLI and the sweep loader).
"""

from __future__ import annotations

from typing import Literal

import typing

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .schema import BUCKETS, PAIR_KEYS

# --- size limits (stated in `bilancio-lite pair --help`; checked by ModelParams) -----------------
#: Most base ring tickets K = Q_total/face_value one pair may hold.
MAX_TICKETS: int = 1_000_000
#: Peak memory of one pair (both regimes, logs included), measured on N = 100 ... 100,000 and
#: K = 500 ... 100,000 over 31 days: per ticket-day, per trader-day, and the fixed part
#: (interpreter and libraries); see :func:`estimated_memory_bytes`.
BYTES_PER_TICKET_DAY: int = 160
BYTES_PER_TRADER_DAY: int = 700
BASE_MEMORY_BYTES: int = 200 * 2**20
#: Largest estimated memory of one pair (the machines have 24 GB).
MAX_MEMORY_BYTES: int = 8 * 2**30
#: Pairs estimated above this show progress (`bilancio-lite pair`): roughly 10 s and more.
LARGE_RUN_BYTES: int = 400 * 2**20
#: Pairs of more days than this (t_end + 1) show progress too: the run time grows linearly in t_end
#: (t_end itself is at most 100,000).
LONG_RUN_DAYS: int = 20_000


def estimated_memory_bytes(n_tickets: float, n_traders: float, n_days: float) -> float:
    """Estimated peak memory of one pair: BASE + (160 B x tickets + 700 B x traders) x days
    (measured; e.g. N = 100,000, K = 100,000, 31 days: 2.6 GB measured, 2.7 GB estimated)."""
    return BASE_MEMORY_BYTES + (BYTES_PER_TICKET_DAY * float(n_tickets)
                                + BYTES_PER_TRADER_DAY * float(n_traders)) * float(n_days)


def size_limits_text() -> str:
    """The size limits in one paragraph (for --help)."""
    return (f"Size limits: n_traders <= 100,000; tickets Q_total/face_value <= {MAX_TICKETS:,}; "
            f"estimated memory of one pair <= {MAX_MEMORY_BYTES // 2**30} GB, estimated as "
            f"{BASE_MEMORY_BYTES // 2**20} MB + ({BYTES_PER_TICKET_DAY} B x tickets + "
            f"{BYTES_PER_TRADER_DAY} B x n_traders) x days (t_end + 1); t_end <= 100,000; Q_total, "
            f"face_value and buffer_inv <= {MAX_MONEY:g} u. Larger inputs are refused "
            f"before anything runs; pairs estimated above {LARGE_RUN_BYTES // 2**20} MB or longer than "
            f"{LONG_RUN_DAYS:,} days show progress.")


#: Largest money-sized input (Q_total, face_value, buffer_inv; u) and largest liq_vector weight:
#: with kappa <= 1e6 every cash amount stays below 1e18 u, far from float overflow (issue 24).
MAX_MONEY: float = 1e12
MAX_LIQ_WEIGHT: float = 1e12

#: Fields added after the output format was fixed (issue 21). A resolved sweep file leaves them
#: out while they hold their default, so sweeps that do not use them keep their sweep.yaml and
#: config hash byte for byte.
OMITTED_AT_DEFAULT: tuple[str, ...] = ("market_open_from", "market_open_until", "mm_cash_ratio")

#: Fields that never appear in ``id_axes``: already in the base pair id, or labels.
_NOT_ID_AXES = frozenset({*PAIR_KEYS, "replicate", "detailed_logging", "variant", "id_axes"})


class ModelParams(BaseModel):
    """All inputs of one passive/active pair (§1). Frozen: a run never mutates its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    # --- ring (§2.1–2.3) -------------------------------------------------------------------
    n_traders: int = Field(100, ge=2, le=100_000, description="N: ring size (traders H1..HN)")
    Q_total: float = Field(10_000.0, gt=0, le=MAX_MONEY, description="Q: total face of the base ring, in u")
    face_value: float = Field(20.0, gt=0, le=MAX_MONEY, description="S: face of one ticket, in u")
    maturity_days: int = Field(10, ge=2, le=1_000, description="T: maximum initial due day")
    kappa: float = Field(1.0, gt=0, le=1e6, description="base trader liquidity / base ring debt (L0 = kappa*Q)")
    concentration: float = Field(1.0, gt=0, le=1e6, description="c: Dirichlet concentration of debt sizes")
    mu: float = Field(0.5, ge=0, le=1, description="lead-lag maturity misalignment (§2.2)")
    monotonicity: float = Field(0.0, ge=-1, le=1, description="m: ordering of debt sizes (§2.1 step 4)")
    liq_mode: Literal["uniform", "single_at", "vector"] = Field(
        "uniform", description="how base liquidity L0 is split across traders (§2.3)")
    liq_single_at: int | None = Field(
        None, ge=1, description="liq_mode=single_at: the 1-based trader index receiving all of L0")
    liq_vector: tuple[float, ...] | None = Field(
        None, description="liq_mode=vector: N positive weights for splitting L0")

    # --- holders and market makers (§2.5, §3) -----------------------------------------------
    outside_mid_ratio: float = Field(0.75, gt=0, le=2, description="rho: initial outside mid per unit face")
    vbt_share: float = Field(0.25, ge=0, lt=1, description="v: VBT share of each bucket's claims")
    dealer_share: float = Field(0.125, ge=0, lt=1, description="d: dealer share of each bucket's claims")
    share_basis: Literal["final", "original"] = Field(
        "final", description="whether shares refer to final (62.5/25/12.5) or base claims (§2.5)")
    match_cash: Literal["face", "uniform", "preserve_ratio"] = Field(
        "face", description="cash given to traders for their holder claims (§2.5 step 4)")
    spread_short: float = Field(0.20, ge=0, le=2, description="O0 for the short bucket (per unit face)")
    spread_mid: float = Field(0.30, ge=0, le=2, description="O0 for the mid bucket (per unit face)")
    spread_long: float = Field(0.40, ge=0, le=2, description="O0 for the long bucket (per unit face)")
    phi_M: float = Field(1.0, ge=0, le=100, description="anchor sensitivity of the mid to losses (§3.6)")
    phi_O: float = Field(0.6, ge=0, le=100, description="anchor sensitivity of the spread to losses (§3.6)")
    O_min: float = Field(0.0, ge=0, le=2, description="floor of the outside spread")
    M_min: float = Field(0.02, ge=0, le=2, description="guard threshold: M <= M_min sends every order to the VBT")
    clip_B: bool = Field(True, description="floor the outside bid at 0")
    anchor_update: Literal["on", "off"] = Field("on", description="loss-based anchor updates (§3.6)")
    anchor_scope: Literal["system", "bucket"] = Field(
        "system", description="system: one loss rate for every bucket; bucket: per last bucket")
    vbt_depth: Literal["finite", "infinite"] = Field(
        "finite", description="finite: VBT cash may not go negative (§3.1)")
    mm_cash_ratio: float | None = Field(
        None, ge=0, le=2, description="market makers' cash at t = 0 per unit face of the claims they hold "
        "(§2.5 step 5; default: outside_mid_ratio, cash = market value)")

    # --- traders (§4) ------------------------------------------------------------------------
    horizon_H: int | None = Field(None, ge=0, le=10_000, description="H: gap look-ahead in days (default T)")
    theta: float = Field(0.0, ge=0, le=1e6, description="gap threshold for selling, in units of S")
    invest: bool = Field(False, description="optional buyer policy (§4.3)")
    H_inv: int = Field(3, ge=0, le=10_000, description="buyer: earliest own due date must be >= t + H_inv")
    buffer_inv: float | None = Field(None, ge=0, le=MAX_MONEY, description="buyer: cash buffer in u (default S)")
    pi_sell: float = Field(0.5, ge=0, le=1, description="SELL probability when both queues are non-empty")
    N_max: int | None = Field(None, ge=1, description="arrivals per day (default unbounded)")
    max_sells_day: int | None = Field(None, ge=1, description="tickets a trader may sell per day (default unbounded)")
    market_open_from: int = Field(
        0, ge=0, le=100_000, description="first day on which traders may trade with the market makers "
        "(§4.4 trading window; default 0)")
    market_open_until: int | None = Field(
        None, ge=0, le=100_000, description="last day on which traders may trade with the market makers "
        "(§4.4 trading window; default: every day to t_end)")

    # --- settlement and horizon (§5) -----------------------------------------------------------
    rollover: bool = Field(True, description="continuous issuance: repaid claims roll over (§5.4)")
    rollover_lender: Literal["forced", "liquidity_aware"] = Field(
        "forced", description="who decides a rollover (§5.4, R2.2): forced = the holder always re-lends; "
        "liquidity_aware = a trader re-lends only if that leaves it no projected gap")
    rollover_price: Literal["par", "risk_priced"] = Field(
        "par", description="price of a rolled ticket (§5.4, R2.7): par, or risk_priced = "
        "max(floor, 1 - dT * recent daily loss hazard)")
    rollover_price_floor: float = Field(
        0.5, ge=0, le=1, description="lowest risk-priced rollover price per unit face (§5.4, R2.7)")
    gap_successors: bool = Field(
        True, description="§4.1 under forced rollover counts the successors of rolling tickets within "
        "the horizon (R2.1); false = revision 1 (only outstanding tickets)")
    anchor_loss_basis: Literal["outstanding", "maturing"] = Field(
        "outstanding", description="denominator of the daily loss rate feeding the anchors (§3.6, R2.3): "
        "face outstanding at S3, or face maturing that day (revision 1)")
    t_end: int | None = Field(None, ge=0, le=100_000, description="last simulated day (default 3T)")
    clearing: Literal["simultaneous", "sequential"] = Field(
        "simultaneous", description="settlement algorithm (§5.2)")

    # --- randomness and output (§6.3, §8) --------------------------------------------------------
    seed: int = Field(42, ge=0, le=2**63 - 1, description="pair seed s = base_seed + replicate")
    replicate: int = Field(0, ge=0, description="replicate index r (label only; the sweep sets seed)")
    detailed_logging: bool = Field(True, description="record trades.csv and inventory_timeseries.csv rows")
    variant: str = Field(
        "", pattern=r"^$|^[A-Za-z0-9]+(?:[-._][A-Za-z0-9]+)*$", max_length=60,
        description="name of the sweep variant (label only, §6.4; the sweep sets it): prefixes the pair id "
        "as {variant}__")
    id_axes: tuple[str, ...] = Field(
        (), description="further fields named in the pair id as _{field}-{value} (label only, §6.4; the "
        "sweep sets it to its grid axes outside kappa, c, mu, rho)")

    # ---------------------------------------------------------------------------------------------
    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: object, info: ValidationInfo) -> object:
        """A bool is not a number: `kappa: true` (YAML) must not run as kappa = 1.0."""
        items = value if isinstance(value, (list, tuple)) else (value,)
        ann = cls.model_fields[info.field_name].annotation
        if any(isinstance(v, bool) for v in items) and _has_type(ann, (int, float)) and not _has_type(ann, (bool,)):
            raise ValueError("Input should be a number, not a boolean (true/false)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "ModelParams":
        S, Q, N = self.face_value, self.Q_total, self.n_traders
        K = Q / S
        if K > MAX_TICKETS:  # before any arithmetic on K: 1e-300 faces would hang or exhaust memory
            raise ValueError(
                f"Q_total/face_value = {K:.4g} tickets is above the limit of {MAX_TICKETS:,}; allowed "
                f"range [n_traders, {MAX_TICKETS:,}]: raise face_value or lower Q_total")
        days = (3 * self.maturity_days if self.t_end is None else self.t_end) + 1
        mem = estimated_memory_bytes(K, N, days)
        if mem > MAX_MEMORY_BYTES:
            raise ValueError(
                f"Q_total/face_value = {K:.4g} tickets and n_traders = {N} over {days} days (t_end) "
                f"need an estimated {mem / 2**30:.1f} GB, above the limit of "
                f"{MAX_MEMORY_BYTES // 2**30} GB; allowed (160 x tickets + 700 x n_traders) x days <= "
                f"{(MAX_MEMORY_BYTES - BASE_MEMORY_BYTES):,} bytes")
        if abs(K - round(K)) > 1e-9 * max(1.0, K):
            raise ValueError(
                f"Q_total ({Q:g}) must be a whole multiple of face_value ({S:g}); Q_total/face_value = {K:g}")
        if round(K) < N:
            raise ValueError(
                f"Q_total/face_value = {round(K)} tickets must be >= n_traders = {N} (every ring edge needs one ticket)")
        if self.vbt_share + self.dealer_share >= 1:
            raise ValueError(
                f"vbt_share + dealer_share must be < 1 (got {self.vbt_share:g} + {self.dealer_share:g})")
        if self.liq_mode == "single_at":
            if self.liq_single_at is None or not 1 <= self.liq_single_at <= N:
                raise ValueError(f"liq_single_at must be in [1, n_traders={N}] when liq_mode='single_at'")
        elif self.liq_single_at is not None:
            raise ValueError("liq_single_at is only allowed with liq_mode='single_at'")
        if self.liq_mode == "vector":
            vec = self.liq_vector
            if vec is None or len(vec) != N or any(not (w > 0) for w in vec):
                raise ValueError(f"liq_vector must hold n_traders={N} positive weights when liq_mode='vector'")
            if any(w > MAX_LIQ_WEIGHT for w in vec):
                raise ValueError(f"liq_vector: weights must be in (0, {MAX_LIQ_WEIGHT:g}] (got "
                                 f"{max(vec):g}); only their ratios matter, so scale them down")
        elif self.liq_vector is not None:
            raise ValueError("liq_vector is only allowed with liq_mode='vector'")
        if not self.clip_B and self.anchor_update != "off":
            raise ValueError(
                "clip_B=false is allowed only with anchor_update='off' (constant anchors): with "
                "loss-driven anchors the outside bid B = M - O/2 can fall below 0, and unclipped "
                "customers would trade at negative prices and dealers' cash go negative (I2)")
        if not self.clip_B:
            low = min(self.outside_mid_ratio - max(self.O_min, o) / 2
                      for o in (self.spread_short, self.spread_mid, self.spread_long))
            if low < 0:
                raise ValueError(
                    f"clip_B=false needs outside_mid_ratio >= max(O_min, spread)/2 in every bucket "
                    f"(the outside bid B = M - O/2 would be {low:g} < 0: negative prices break I2)")
        if self.market_open_until is not None and self.market_open_until < self.market_open_from:
            raise ValueError(
                f"market_open_until ({self.market_open_until}) must be >= market_open_from "
                f"({self.market_open_from}): the trading window would hold no day")
        if self.t_end is not None and self.t_end < 0:
            raise ValueError("t_end must be >= 0")
        for a in self.id_axes:
            if a not in type(self).model_fields or a in _NOT_ID_AXES:
                raise ValueError(f"id_axes: {a!r} cannot be named in the pair id (allowed: model fields "
                                 f"other than {', '.join(sorted(_NOT_ID_AXES))})")
        if len(set(self.id_axes)) != len(self.id_axes):
            raise ValueError("id_axes: a field is named twice")
        return self

    # --- derived values ----------------------------------------------------------------------
    def market_open(self, t: int) -> bool:
        """§4.4 trading window: whether traders may trade with the market makers on day t."""
        return self.market_open_from <= t and (self.market_open_until is None or t <= self.market_open_until)

    @property
    def mm_cash(self) -> float:
        """§2.5 step 5: the market makers' cash per unit face held at t = 0 (default rho)."""
        return self.outside_mid_ratio if self.mm_cash_ratio is None else self.mm_cash_ratio

    @property
    def S(self) -> float:
        return self.face_value

    @property
    def n_tickets(self) -> int:
        """K = Q/S, the number of base ring tickets."""
        return int(round(self.Q_total / self.face_value))

    @property
    def H(self) -> int:
        return self.maturity_days if self.horizon_H is None else self.horizon_H

    @property
    def last_day(self) -> int:
        return 3 * self.maturity_days if self.t_end is None else self.t_end

    @property
    def buffer(self) -> float:
        return self.face_value if self.buffer_inv is None else self.buffer_inv

    @property
    def spreads(self) -> dict[str, float]:
        """O0 per bucket (§3.1), by bucket name."""
        return dict(zip(BUCKETS, (self.spread_short, self.spread_mid, self.spread_long)))

    @property
    def pair_id(self) -> str:
        """`[{variant}__]k{kappa}_c{c}_mu{mu}_rho{rho}_s{seed}[_{axis}-{value}…]`: the run id of §8
        without its regime prefix (§6.4). Without a variant and id axes it is the Plan 024 id."""
        base = (f"k{_num(self.kappa)}_c{_num(self.concentration)}_mu{_num(self.mu)}"
                f"_rho{_num(self.outside_mid_ratio)}_s{self.seed}")
        extra = "".join(f"_{a}-{id_value(getattr(self, a))}" for a in self.id_axes)
        return (f"{self.variant}__" if self.variant else "") + base + extra

    def run_id(self, regime: str) -> str:
        return f"{regime}_{self.pair_id}"


def id_value(x: object) -> str:
    """Text of a field value inside a pair id: faithful and free of path separators."""
    if x is None:
        return "none"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return _num(x)
    if isinstance(x, (tuple, list)):
        return ",".join(id_value(v) for v in x)
    return str(x)


def _has_type(annotation: object, types: tuple[type, ...]) -> bool:
    """Whether a field's type is, or contains (Optional, Union, tuple[...]), one of ``types``."""
    if typing.get_origin(annotation) is typing.Literal:
        return False
    return annotation in types or any(_has_type(a, types) for a in typing.get_args(annotation))


def _num(x: float) -> str:
    """Shortest faithful text of a parameter value (1.0 -> '1', 0.25 -> '0.25')."""
    return format(x, "g") if float(x) == float(format(x, "g")) else repr(float(x))


def _range_text(field_name: str) -> str:
    """The allowed range of a numeric field, read from its pydantic constraints."""
    info = ModelParams.model_fields.get(field_name)
    if info is None:
        return ""
    lo = hi = None
    lo_open = hi_open = False
    for m in info.metadata:
        for attr, is_lo, is_open in (("gt", True, True), ("ge", True, False), ("lt", False, True), ("le", False, False)):
            v = getattr(m, attr, None)
            if v is not None:
                if is_lo:
                    lo, lo_open = v, is_open
                else:
                    hi, hi_open = v, is_open
    if lo is None and hi is None:
        ann = info.annotation
        args = getattr(ann, "__args__", None)
        if args and all(isinstance(a, str) for a in args):
            return "one of " + ", ".join(repr(a) for a in args)
        return ""
    left = ("(" if lo_open else "[") + ("-inf" if lo is None else f"{lo:g}")
    right = ("inf" if hi is None else f"{hi:g}") + (")" if hi_open else "]")
    return f"allowed range {left}, {right}"


def describe_errors(err: ValidationError, prefix: str = "") -> list[str]:
    """Readable one-line messages for a ValidationError: field path, offending value, allowed range."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "__root__")
        path = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "parameters")
        typ = e.get("type", "")
        msg = e.get("msg", "")
        if typ == "extra_forbidden":
            lines.append(f"{path}: unknown parameter (not a field of this model)")
            continue
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        value = e.get("input")
        value_txt = "" if isinstance(value, dict) else f" (got {value!r})"
        rng = _range_text(str(e["loc"][-1])) if e.get("loc") else ""
        rng_txt = f"; {rng}" if rng and rng not in msg else ""
        lines.append(f"{path}: {msg}{value_txt}{rng_txt}")
    return lines
