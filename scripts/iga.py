"""sd-webui-iga entry point for AUTOMATIC1111 v1.10.1 and Forge: the always-on "IGA" script, the
"IGA consistency report" entry of the Script dropdown, and the callbacks. Thin on purpose; everything lives in the uniquely named `iga_webui` / `iga_core` packages,
imported here at module top level because A1111 removes the extension from sys.path after loading."""

from iga_webui import callbacks
from iga_webui.consistency import ConsistencyReportScript
from iga_webui.script import IgaScript

callbacks.register()

__all__ = ["ConsistencyReportScript", "IgaScript"]
