"""Mirror of modules/sd_schedulers.py: `schedulers` (A sd_schedulers.py:130-143, F 211-228) and
`schedulers_map` (A 145, F 230), the schedule-type dropdown's list. The double's records are
`Scheduler(name, label, aliases)` without the sigma functions; the list itself is kept in sd_samplers.py of
this double, which the host's sd_samplers.py reads from here (A sd_samplers.py:5, 103-107)."""

from __future__ import annotations

from modules.sd_samplers import Scheduler, schedulers, schedulers_map

__all__ = ["Scheduler", "schedulers", "schedulers_map"]
