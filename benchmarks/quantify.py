"""Quantify throughput of every built-in methodology, next to a bare-Decimal baseline.

Not a test: run it by hand and compare figures on one machine, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/quantify.py --activities 200000 --repeat 5

For each built-in it prepares the default parameters once, loads a pool of varied activities
(input validation is not timed: it happens at ingestion), then times ``quantify`` with
``explain=False`` over the pool, best of ``--repeat`` rounds, in one process on one core; about a
fifth of the activities are self-reported. The bare baseline does the least a quantification can:
one Decimal multiply, one half-up quantize to grams and a frozen dataclass shaped like
``Quantification``.
The goal is at least 300,000 bus rides per second.
"""

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from typing import Any

from methodologies.base import Activity, Methodology
from methodologies.cycling import Cycling
from methodologies.household_energy import ElectricitySaving, GasSaving
from methodologies.parameters import Parameters
from methodologies.recycling import MATERIALS, Recycling
from methodologies.transit import BusRide, MetroRide
from methodologies.walking import Walking

GOAL_PER_SECOND = 300_000
_ONE = Decimal(1)


def _km(rng: Random, most: int) -> str:
    return f"{rng.randint(1, most * 10) / 10:.1f}"


def _transit(rng: Random) -> dict[str, Any]:
    return {"distance_km": _km(rng, 40), "duration_minutes": str(rng.randint(5, 90))}


def _cycling(rng: Random) -> dict[str, Any]:
    return {
        "mode": rng.choice(("shared", "own")),
        "distance_km": _km(rng, 15),
        "duration_minutes": str(rng.randint(5, 60)),
    }


def _electricity(rng: Random) -> dict[str, Any]:
    return {
        "period_start": "2024-05-01",
        "period_end": "2024-05-31",
        "baseline_kwh": str(rng.randint(150, 400)),
        "consumed_kwh": str(rng.randint(100, 400)),
    }


def _gas(rng: Random) -> dict[str, Any]:
    return {
        "period_start": "2024-01-01",
        "period_end": "2024-01-31",
        "baseline_m3": str(rng.randint(20, 80)),
        "consumed_m3": f"{rng.randint(100, 800) / 10:.1f}",
    }


def _recycling(rng: Random) -> dict[str, Any]:
    return {"material": rng.choice(tuple(MATERIALS)), "kg": f"{rng.randint(1, 5000) / 100:.2f}"}


def _walking(rng: Random) -> dict[str, Any]:
    return {"steps": rng.randint(500, 25_000)}


BUILT_INS: Sequence[tuple[type[Methodology], Callable[[Random], dict[str, Any]]]] = (
    (BusRide, _transit),
    (MetroRide, _transit),
    (Cycling, _cycling),
    (ElectricitySaving, _electricity),
    (GasSaving, _gas),
    (Recycling, _recycling),
    (Walking, _walking),
)


@dataclass(frozen=True, slots=True)
class _Bare:
    """Same fields as Quantification, so the ratio shows the methodology's own overhead."""

    baseline_g: int
    project_g: int
    reduction_g: int
    capped: bool
    trace: None = None


def _bare(quantities: Sequence[Decimal], per_km: Decimal) -> None:
    for km in quantities:
        grams = int((km * per_km).quantize(_ONE, ROUND_HALF_UP))
        _Bare(grams, 0, grams, False, None)


def _best_rate(run: Callable[[], None], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


def _pool(
    methodology: type[Methodology], make: Callable[[Random], dict[str, Any]], size: int
) -> list[Activity]:
    rng = Random(f"{methodology.code}-benchmark")
    occurred_at = datetime(2024, 6, 2, 9, 30, tzinfo=UTC)
    return [
        methodology.build_activity(make(rng), occurred_at, self_reported=rng.random() < 0.2)
        for _ in range(size)
    ]


def _quantify_all(
    methodology: type[Methodology], pool: list[Activity], params: Parameters, explain: bool
) -> None:
    quantify = methodology.quantify
    for activity in pool:
        quantify(activity, params, explain=explain)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=100_000, help="pool size per built-in")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per figure; best is kept")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    say(f"Python {sys.version.split()[0]}, {args.activities:,} activities, best of {args.repeat}")
    bus_pool = _pool(BusRide, _transit, args.activities)
    distances = [activity.quantities["distance_km"] for activity in bus_pool]
    bare_rate = _best_rate(lambda: _bare(distances, Decimal("26.9")), args.activities, args.repeat)
    say(f"{'bare Decimal × + quantize + dataclass':<40} {bare_rate:>12,.0f} /s")
    rates = {}
    for methodology, make in BUILT_INS:
        say(f"  {methodology.code}: loading {args.activities:,} activities …")
        pool = bus_pool if methodology is BusRide else _pool(methodology, make, args.activities)
        params = methodology.load_parameters(methodology.default_parameters())
        rate = _best_rate(
            lambda m=methodology, p=pool, v=params: _quantify_all(m, p, v, explain=False),
            args.activities,
            args.repeat,
        )
        rates[methodology.code] = rate
        say(
            f"{methodology.code + ' quantify (explain=False)':<40} {rate:>12,.0f} /s"
            f"   {bare_rate / rate:4.2f}× the bare baseline's time"
        )
    bus_params = BusRide.load_parameters(BusRide.default_parameters())
    explained = _best_rate(
        lambda: _quantify_all(BusRide, bus_pool, bus_params, explain=True),
        args.activities,
        args.repeat,
    )
    say(f"{'bus quantify (explain=True)':<40} {explained:>12,.0f} /s")
    met = rates["bus"] >= GOAL_PER_SECOND
    say(f"goal {GOAL_PER_SECOND:,} bus rides/s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
