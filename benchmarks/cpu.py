"""CPU time of the two sides of a benchmark run: the app's server processes and PostgreSQL's.

Rates move with whatever else the machine is doing; CPU per request or per activity moves far
less, so the benchmarks print both. Linux only (reads ``/proc``).
"""

from __future__ import annotations

import os
from pathlib import Path


def _cpu_seconds(pid: int, *, reaped: bool) -> float:
    """User plus system CPU of a process (and, with ``reaped``, of its children that ended)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_by_side(server_pid: int | None = None) -> dict[str, float]:
    """CPU seconds so far of a server (e.g. a gunicorn master with its workers) and of
    PostgreSQL's processes; without a server, ``app`` is 0.

    Workers that gunicorn recycled, and database backends that ended, count through their
    parent's reaped time, so two readings subtract cleanly.
    """
    totals = {"app": _cpu_seconds(server_pid, reaped=True) if server_pid else 0.0, "database": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if server_pid and parent == server_pid:
                totals["app"] += _cpu_seconds(int(entry.name), reaped=False)
            elif comm == "postgres":
                parent_is_postgres = (Path(f"/proc/{parent}/comm").read_text().strip()) == comm
                totals["database"] += _cpu_seconds(int(entry.name), reaped=not parent_is_postgres)
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended while we looked
    return totals


def machine_seconds() -> dict[str, float]:
    """CPU seconds the whole machine has spent busy since boot, and of those stolen by the host
    (``/proc/stat``): their change over a run says how close to its cores the machine ran."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return {"busy": (user + nice + system + irq + softirq + steal) / tick, "steal": steal / tick}
