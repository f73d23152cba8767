"""Interleaved timing rounds shared by the benchmarks (a slow moment of a shared machine falls on every row)."""

from __future__ import annotations

import time


def rounds(rows: dict, n: int) -> dict[str, list[float]]:
    """Wall seconds of each row's function, `n` rounds, every row once per round in a rotating order."""
    spent = {name: [] for name in rows}
    names = list(rows)
    for i in range(n):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            rows[name]()
            spent[name].append(time.perf_counter() - start)
    return spent
