"""Deterministic sample data for the customer-churn teaching project.

The churn template needs data that behaves like a real subscription business, and it must be
the same on every machine, so this module simulates it with a seeded numpy ``Generator``
(no network, no files, no global random state).

``make_churn_history`` produces the *training* data: one row per active customer per monthly
snapshot. Customers who churn leave after that month and new customers join, so the active
population stays near ``n_customers``. Churn follows a logistic model of contract, tenure,
price, support calls, payment method, usage and (a little) region and age band, with an
unobserved per-customer factor so that a good model scores well but not perfectly.

The data is deliberately imperfect, because the course is about what goes wrong:

* ``cancellation_reason`` is a planted **leak**. Like a real CRM export it is filled only for
  customers who cancelled, so it reveals the target perfectly and is never available at
  prediction time. ``data check`` should flag it; a model trained on it scores ~1.0 in the
  notebook and is useless live.
* ``data_usage_gb`` has ~2 % missing values and ``support_calls`` holds the sentinel ``-1``
  ("unknown" in the call-centre export) on ~0.5 % of rows.
* ``email`` and ``phone`` are personal data that must not become features.

``make_churn_live`` produces the months *after* training, split into the features seen at
scoring time and the labels that arrive later. From ``drift_from_month`` on it plants drift:
a price rise, a payment method never seen in training (``NEW_PAYMENT_METHOD``), a spike of
missing usage values, and a concept change (customers become more price-sensitive) so the
trained model's quality drops and monitoring has something to find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "LEAK_COLUMN",
    "NEW_PAYMENT_METHOD",
    "TARGET",
    "make_churn_history",
    "make_churn_live",
    "make_churn_weeks",
]

TARGET = "churned"
LEAK_COLUMN = "cancellation_reason"
NEW_PAYMENT_METHOD = "crypto_wallet"

COLUMNS: tuple[str, ...] = (
    "customer_id",
    "snapshot_month",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "data_usage_gb",
    "support_calls",
    "contract",
    "payment_method",
    "plan",
    "region",
    "gender",
    "age_band",
    "email",
    "phone",
    LEAK_COLUMN,
    TARGET,
)

CONTRACTS = ("month-to-month", "one-year", "two-year")
PAYMENT_METHODS = ("credit_card", "bank_transfer", "electronic_check", "mailed_check")
PLANS = ("basic", "standard", "premium")
REGIONS = ("north", "south", "east", "west")
GENDERS = ("female", "male", "other")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
CANCELLATION_REASONS = ("price", "competitor", "service", "moved", "other")

_CONTRACT_P = (0.62, 0.22, 0.16)  # of new customers; month-to-month ones leave sooner
_PAYMENT_P = (0.28, 0.27, 0.30, 0.15)
_PLAN_P = (0.35, 0.40, 0.25)
_REGION_P = (0.30, 0.25, 0.25, 0.20)
_GENDER_P = (0.49, 0.49, 0.02)
_AGE_P = (0.10, 0.22, 0.22, 0.19, 0.15, 0.12)
_REASON_P = (0.35, 0.25, 0.20, 0.12, 0.08)

# Plan -> (low, high) monthly price and typical monthly data usage in GB.
_PLAN_PRICE = np.array([[20.0, 45.0], [45.0, 80.0], [75.0, 120.0]])
_PLAN_USAGE_GB = np.array([8.0, 20.0, 45.0])
# Typical tenure (months) of the starting population, per contract.
_CONTRACT_TENURE_MEAN = np.array([14.0, 30.0, 45.0])
_MAX_TENURE = 72
_BURN_IN_MONTHS = 36

# Churn model (log-odds). Kept moderate so no single column is decisive.
_BASE_LOGIT = -3.8
_CONTRACT_EFFECT = np.array([1.15, 0.0, -0.9])
_PAYMENT_EFFECT = np.array([0.0, -0.05, 0.55, 0.05, 0.25])  # last: NEW_PAYMENT_METHOD
_REGION_EFFECT = np.array([0.0, 0.12, -0.05, 0.08])
_AGE_EFFECT = np.array([0.15, 0.05, 0.0, -0.03, 0.0, 0.10])
_GENDER_EFFECT = np.array([0.0, 0.02, 0.0])
_NEW_TENURE_EFFECT = 1.0  # extra log-odds for brand-new customers, decaying with tenure
_TENURE_DECAY = 10.0
_PRICE_EFFECT = 0.02  # per currency unit above 70
_SUPPORT_EFFECT = 0.33  # per call this month
_LOW_USAGE_EFFECT = 0.6  # per unit of log(usage / plan typical usage) below zero
_LATENT_SD = 0.5

# Drift planted in the live data from ``drift_from_month`` on.
_PRICE_RISE = (1.10, 1.20)
_NEW_PAYMENT_SHARE = 0.10
_DRIFT_USAGE_MISSING = 0.35
_DRIFT_PRICE_EFFECT = 0.07  # concept change: price matters much more ...
_DRIFT_HABIT_SCALE = 0.2  # ... and contract, tenure and support calls matter less
_DRIFT_BASE_SHIFT = 0.8  # ... and more customers leave overall

_USAGE_MISSING = 0.02
_SUPPORT_UNKNOWN = 0.005
_SUPPORT_SENTINEL = -1
_MAX_SUPPORT_CALLS = 12
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


@dataclass
class _Customers:
    """Static attributes of every customer created so far, indexed by customer number."""

    contract: np.ndarray
    payment: np.ndarray
    plan: np.ndarray
    region: np.ndarray
    gender: np.ndarray
    age: np.ndarray
    base_charges: np.ndarray
    usage_scale: np.ndarray
    support_rate: np.ndarray
    latent: np.ndarray
    start_tenure: np.ndarray
    join_month: np.ndarray
    price_factor: np.ndarray  # applied only in drifted months
    new_payment: np.ndarray  # switches to NEW_PAYMENT_METHOD in drifted months

    def extend(self, other: _Customers) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    def select(self, index: np.ndarray) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name)[index])


def _next_population(
    rng: np.random.Generator,
    customers: _Customers,
    active: np.ndarray,
    churned: np.ndarray,
    month: int,
) -> np.ndarray:
    """Churners leave; as many new customers join the next month."""
    n_new = int(churned.sum())
    first = customers.contract.size
    customers.extend(_new_customers(rng, n_new, join_month=month + 1, initial=False))
    return np.concatenate([active[~churned], np.arange(first, first + n_new)])


def _new_customers(
    rng: np.random.Generator, count: int, join_month: int, initial: bool
) -> _Customers:
    contract = rng.choice(len(CONTRACTS), size=count, p=_CONTRACT_P)
    plan = rng.choice(len(PLANS), size=count, p=_PLAN_P)
    low, high = _PLAN_PRICE[plan, 0], _PLAN_PRICE[plan, 1]
    base_charges = np.round(rng.uniform(low, high), 2)
    usage_scale = _PLAN_USAGE_GB[plan] * rng.lognormal(0.0, 0.45, size=count)
    if initial:
        mean = _CONTRACT_TENURE_MEAN[contract]
        tenure = np.minimum(rng.geometric(1.0 / (mean + 1.0)) - 1, _MAX_TENURE)
    else:
        tenure = np.zeros(count, dtype=np.int64)
    return _Customers(
        contract=contract,
        payment=rng.choice(len(PAYMENT_METHODS), size=count, p=_PAYMENT_P),
        plan=plan,
        region=rng.choice(len(REGIONS), size=count, p=_REGION_P),
        gender=rng.choice(len(GENDERS), size=count, p=_GENDER_P),
        age=rng.choice(len(AGE_BANDS), size=count, p=_AGE_P),
        base_charges=base_charges,
        usage_scale=usage_scale,
        support_rate=rng.gamma(2.0, 0.7, size=count),
        latent=rng.normal(0.0, _LATENT_SD, size=count),
        start_tenure=tenure.astype(np.int64),
        join_month=np.full(count, join_month, dtype=np.int64),
        price_factor=rng.uniform(*_PRICE_RISE, size=count),
        new_payment=rng.random(count) < _NEW_PAYMENT_SHARE,
    )


def _contact_details(
    rng: np.random.Generator, prefix: str, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer ids, fake emails (a few spelling styles) and fake phone numbers."""
    numbers = [f"{i:07d}" for i in range(1, count + 1)]
    ids = np.array([f"{prefix}{n}" for n in numbers], dtype=object)
    style = rng.integers(0, 4, size=count)
    domain = rng.integers(0, len(_EMAIL_DOMAINS), size=count)
    low = prefix.lower()
    emails = []
    for n, s, d in zip(numbers, style.tolist(), domain.tolist(), strict=True):
        if s == 0:
            local = f"{low}{n}"
        elif s == 1:
            local = f"customer.{n}"
        elif s == 2:
            local = f"{low}_{n.lstrip('0')}"
        else:
            local = f"user{n[-5:]}.{low}"
        emails.append(f"{local}@{_EMAIL_DOMAINS[d]}")
    phone_digits = rng.integers(0, 10_000_000, size=count)
    phones = np.array([f"+1-555-{p:07d}" for p in phone_digits.tolist()], dtype=object)
    return ids, np.array(emails, dtype=object), phones


def _simulate(
    rng: np.random.Generator,
    n_customers: int,
    months: int,
    start: str,
    prefix: str,
    drift_from_month: int | None,
) -> pd.DataFrame:
    """Run the monthly simulation and return the full frame (all COLUMNS)."""
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    month_starts = pd.date_range(
        pd.Timestamp(start).to_period("M").to_timestamp(), periods=months, freq="MS"
    )

    # Start _BURN_IN_MONTHS early and record nothing then, so the first recorded month already
    # looks like a business in steady state (the riskiest customers have left).
    customers = _new_customers(rng, n_customers, join_month=-_BURN_IN_MONTHS, initial=True)
    active = np.arange(n_customers)
    part_names = ("cust", "month", "tenure", "charges", "total", "usage", "calls", "payment")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in (*part_names, "churned")}

    for m in range(-_BURN_IN_MONTHS, months):
        drifting = drift_from_month is not None and m >= drift_from_month
        n = active.size
        contract = customers.contract[active]
        plan = customers.plan[active]
        tenure = customers.start_tenure[active] + (m - customers.join_month[active])
        charges = customers.base_charges[active]
        payment = customers.payment[active].copy()
        if drifting:
            charges = np.round(charges * customers.price_factor[active], 2)
            payment[customers.new_payment[active]] = len(PAYMENT_METHODS)
        total = np.round(tenure * charges * rng.normal(1.0, 0.04, size=n), 2)
        total = np.maximum(total, 0.0)
        usage = customers.usage_scale[active] * rng.lognormal(0.0, 0.3, size=n)
        calls = np.minimum(rng.poisson(customers.support_rate[active]), _MAX_SUPPORT_CALLS)

        low_usage = np.maximum(-np.log(usage / _PLAN_USAGE_GB[plan]), 0.0)
        habit = (  # effects that weaken under concept drift
            _CONTRACT_EFFECT[contract]
            + _NEW_TENURE_EFFECT * np.exp(-tenure / _TENURE_DECAY)
            + _SUPPORT_EFFECT * calls
        )
        base, price_effect = _BASE_LOGIT, _PRICE_EFFECT
        if drifting:
            habit = habit * _DRIFT_HABIT_SCALE
            base, price_effect = _BASE_LOGIT + _DRIFT_BASE_SHIFT, _DRIFT_PRICE_EFFECT
        logit = (
            base
            + habit
            + price_effect * (charges - 70.0)
            + _PAYMENT_EFFECT[payment]
            + _LOW_USAGE_EFFECT * low_usage
            + _REGION_EFFECT[customers.region[active]]
            + _AGE_EFFECT[customers.age[active]]
            + _GENDER_EFFECT[customers.gender[active]]
            + customers.latent[active]
        )
        churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

        # What the exports show: rounded values, missing usage, the "unknown" call code.
        usage = np.round(usage, 2)
        missing_share = _DRIFT_USAGE_MISSING if drifting else _USAGE_MISSING
        usage[rng.random(n) < missing_share] = np.nan
        calls[rng.random(n) < _SUPPORT_UNKNOWN] = _SUPPORT_SENTINEL

        if m < 0:
            active = _next_population(rng, customers, active, churned, m)
            continue
        parts["cust"].append(active)
        parts["month"].append(np.full(n, m))
        parts["tenure"].append(tenure)
        parts["charges"].append(charges)
        parts["total"].append(total)
        parts["usage"].append(usage)
        parts["calls"].append(calls)
        parts["payment"].append(payment)
        parts["churned"].append(churned)

        if m + 1 < months:
            active = _next_population(rng, customers, active, churned, m)

    # Number the customers who appear, in order of joining.
    seen, cust = np.unique(np.concatenate(parts["cust"]), return_inverse=True)
    customers.select(seen)

    churned = np.concatenate(parts["churned"])
    ids, emails, phones = _contact_details(rng, prefix, customers.contract.size)
    reasons = np.full(cust.size, None, dtype=object)
    reason_idx = rng.choice(len(CANCELLATION_REASONS), size=int(churned.sum()), p=_REASON_P)
    reasons[churned] = np.array(CANCELLATION_REASONS, dtype=object)[reason_idx]
    payment_names = np.array((*PAYMENT_METHODS, NEW_PAYMENT_METHOD), dtype=object)

    def names(values: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
        labels: np.ndarray = np.array(values, dtype=object)[codes]
        return labels

    frame = pd.DataFrame(
        {
            "customer_id": ids[cust],
            "snapshot_month": month_starts[np.concatenate(parts["month"])].values,
            "tenure_months": np.concatenate(parts["tenure"]).astype(np.int64),
            "monthly_charges": np.concatenate(parts["charges"]).astype(np.float64),
            "total_charges": np.concatenate(parts["total"]).astype(np.float64),
            "data_usage_gb": np.concatenate(parts["usage"]).astype(np.float64),
            "support_calls": np.concatenate(parts["calls"]).astype(np.int64),
            "contract": names(CONTRACTS, customers.contract[cust]),
            "payment_method": payment_names[np.concatenate(parts["payment"])],
            "plan": names(PLANS, customers.plan[cust]),
            "region": names(REGIONS, customers.region[cust]),
            "gender": names(GENDERS, customers.gender[cust]),
            "age_band": names(AGE_BANDS, customers.age[cust]),
            "email": emails[cust],
            "phone": phones[cust],
            LEAK_COLUMN: reasons,
            TARGET: churned.astype(np.int64),
        },
        columns=list(COLUMNS),
    )
    frame["snapshot_month"] = frame["snapshot_month"].astype("datetime64[ns]")
    return frame


def make_churn_history(
    n_customers: int = 20_000, months: int = 12, seed: int = 7, start: str = "2025-01-01"
) -> pd.DataFrame:
    """Monthly churn snapshots for training, with a planted leak (``LEAK_COLUMN``).

    One row per active customer per month (first day of the month, ``months`` months from
    ``start``). ``churned`` is 1 when the customer cancels at the end of that month; such a
    customer has no later rows, and a new customer takes their place. The frame holds at
    least ``n_customers`` distinct customers ("C0000001", ...). The same arguments always
    give the same frame.
    """
    rng = np.random.default_rng(seed)
    return _simulate(rng, n_customers, months, start, prefix="C", drift_from_month=None)


def make_churn_live(
    n_customers: int = 5_000,
    months: int = 4,
    drift_from_month: int = 2,
    seed: int = 11,
    start: str = "2026-01-01",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Live months after training: ``(features, labels)`` with drift from ``drift_from_month``.

    ``features`` has the history columns except ``churned`` and ``cancellation_reason``
    (both are only known after the outcome). ``labels`` has ``customer_id``,
    ``snapshot_month``, ``churned`` and ``label_arrived_at`` (one month plus 0-10 days after
    the snapshot month starts: labels arrive late). Customer ids start with "L", so they never
    collide with history ids.

    From month index ``drift_from_month`` (0-based) on: prices rise by about 15 %, about 10 %
    of rows pay with ``NEW_PAYMENT_METHOD`` (never seen in training), about 35 % of
    ``data_usage_gb`` is missing, and churn becomes much more price-sensitive (concept drift).
    Earlier months follow the training distribution.
    """
    if drift_from_month < 0:
        raise ValueError(f"drift_from_month must be >= 0, got {drift_from_month}")
    rng = np.random.default_rng(seed)
    frame = _simulate(
        rng, n_customers, months, start, prefix="L", drift_from_month=drift_from_month
    )
    features = frame.drop(columns=[TARGET, LEAK_COLUMN]).reset_index(drop=True)
    delay = pd.to_timedelta(rng.integers(0, 11, size=len(frame)), unit="D")
    next_month = frame["snapshot_month"] + pd.DateOffset(months=1)
    labels = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "snapshot_month": frame["snapshot_month"].to_numpy(),
            TARGET: frame[TARGET].to_numpy(),
            "label_arrived_at": (next_month + delay).to_numpy(),
        }
    )
    labels["snapshot_month"] = labels["snapshot_month"].astype("datetime64[ns]")
    labels["label_arrived_at"] = labels["label_arrived_at"].astype("datetime64[ns]")
    return features, labels


def make_churn_weeks(
    n_customers: int = 2000,
    weeks: int = 4,
    drift_from_week: int = 3,
    first_monday: str = "2026-01-05",
    seed: int = 23,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``make_churn_live`` as weekly traffic: ``(features, labels)`` for monitoring demos.

    Period ``i`` is dated ``first_monday + 7 i days`` (ISO date text in ``snapshot_month``),
    drift starts in week ``drift_from_week`` (1-based), and each customer id gets its week
    appended (``L0000001-0105``): one row per customer and week, so a label names exactly one
    scored row. ``labels`` keeps ``label_arrived_at`` from the live maker.
    """
    if drift_from_week < 1:
        raise ValueError(f"drift_from_week must be >= 1, got {drift_from_week}")
    features, labels = make_churn_live(
        n_customers=n_customers, months=weeks, drift_from_month=drift_from_week - 1, seed=seed
    )
    start = pd.Timestamp(first_monday)
    periods = sorted(features["snapshot_month"].unique())
    week_of = {p: start + pd.Timedelta(days=7 * i) for i, p in enumerate(periods)}
    for frame in (features, labels):
        week = frame["snapshot_month"].map(week_of)
        frame["customer_id"] = frame["customer_id"] + "-" + week.dt.strftime("%m%d")
        frame["snapshot_month"] = week.dt.strftime("%Y-%m-%d")
    return features, labels
