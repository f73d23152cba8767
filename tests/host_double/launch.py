"""Mirror of the hosts' top-level `launch` module, cut to `git_tag` (A launch.py:10 and F launch.py:13 re-export
`modules.launch_utils.git_tag`, which runs `git describe --tags` in a subprocess on every call, A
launch_utils.py:74-86; F prefixes "f" + forge_version, F launch_utils.py:94-95, reForge 88-89; Classic and Neo
return forge_version.version, classic / Neo launch_utils.py:55-56). `CALLS` counts the calls, so a test can see how often the glue pays for it."""

from __future__ import annotations

import modules

from tests.host_double.flavours import flavour

CALLS: list[str] = []


def git_tag():
    tag = flavour(getattr(modules, "DOUBLE_HOST", "a1111")).git_tag
    CALLS.append(tag)
    return tag
