"""Mirror of the hosts' top-level `launch` module, cut to `git_tag` (A launch.py:10 and F launch.py:13 re-export
`modules.launch_utils.git_tag`, which runs `git describe --tags` in a subprocess on every call, A
launch_utils.py:74-86). `CALLS` counts the calls, so a test can see how often the glue pays for it."""

from __future__ import annotations

import modules

CALLS: list[str] = []


def git_tag():
    tag = "f2.0.1v1.10.1" if getattr(modules, "DOUBLE_HOST", "a1111") == "forge" else "v1.10.1"
    CALLS.append(tag)
    return tag
