"""sd-webui-iga entry point for AUTOMATIC1111 v1.10.1, Forge, Forge Neo, Forge Classic and reForge: the
always-on "IGA" script, the "IGA consistency report" entry of the Script dropdown, and the callbacks. Thin
on purpose; everything lives in the uniquely named `iga_webui` / `iga_core` packages, imported here at
module top level because A1111 removes the extension from sys.path after loading.

The host is identified first from its own version module (`iga_webui.host_probe`, docs/hosts.md §1). On a
WebUI it does not know, the extension says so once in the console and in the panel, and guards nothing."""

from iga_webui import host_probe

host_probe.announce()

if host_probe.profile().known:
    from iga_webui import callbacks
    from iga_webui.consistency import ConsistencyReportScript
    from iga_webui.script import IgaScript

    callbacks.register()
    __all__ = ["ConsistencyReportScript", "IgaScript"]
else:
    from iga_webui import unknown_host

    IgaUnknownHost = unknown_host.script_class()
    __all__ = ["IgaUnknownHost"] if IgaUnknownHost is not None else []
