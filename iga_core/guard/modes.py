"""The guard's modes and the WebUI hosts it knows, in a module of their own: the CLI's `--mode` and `--host`
choices need the names, not the guard."""

MODES = ("strict", "standard", "audit", "off")
#: the WebUIs a request can name (`GuardRequest.host`; iga_webui/hosts.json keys, guard/data/host_settings.json)
HOSTS = ("a1111", "forge", "forge-neo", "forge-classic", "reforge")
