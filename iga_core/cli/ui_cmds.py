"""`iga ui`: the standalone app (the IGA panel and the Recipes tab in a plain Gradio page)."""

from __future__ import annotations

import argparse
import errno
import socket

from iga_core.errors import ExitCode, IgaIOError, IgaUsageError

PORT_RANGE = (1, 65535)


class GradioMissing(IgaIOError):
    """`iga ui` needs gradio, which is an optional dependency."""


class PortInUse(IgaIOError):
    """Another program listens on the port `iga ui` was asked to use."""


class HostUnusable(IgaUsageError):
    """`--host` names no address of this machine (unresolvable, or someone else's)."""


def port_number(text: str) -> int:
    """argparse type for --port: an integer 1-65535 (gradio would raise OverflowError on 99999)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number, got {text!r}") from None
    low, high = PORT_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"a port is between {low} and {high}, got {value}")
    return value


def check_listen(host: str, port: int) -> None:
    """Bind (host, port) once and let go, so a busy port or a wrong host is one line with a hint before the
    app is built, not a traceback from inside gradio ("Cannot find empty port" for a bad host, too).
    SO_REUSEADDR as uvicorn sets it: a port left in TIME_WAIT is free, one with a listener is not."""
    hint_host = "use 127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnusable(f"--host {host}: no such address ({getattr(exc, 'strerror', None) or exc})", hint_host) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise _bind_error(host, port, exc) from None


def _bind_error(host: str, port: int, exc: OSError) -> IgaIOError | IgaUsageError:
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(f"port {port} on {host} is in use by another program",
                         f"stop it, or pass another port: iga ui --port {port + 1 if port < PORT_RANGE[1] else 7870}")
    if exc.errno == errno.EADDRNOTAVAIL:
        return HostUnusable(f"--host {host} is not an address of this machine",
                            "use 127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)")
    if exc.errno == errno.EACCES:
        return PortInUse(f"port {port} needs more privileges than this user has",
                         "pass a port above 1023, e.g. --port 7870")
    return PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                     "pass another --port, or --host 127.0.0.1")


def _run(args: argparse.Namespace) -> int:
    if args.reset_demo and args.models:
        raise IgaUsageError("--reset-demo remakes the demo folder; it does not go with --models",
                            "drop --models to reset the demo, or drop --reset-demo to serve your folder")
    check_listen(args.host, args.port)  # before gradio is imported and the (slow) app is built
    try:
        from iga_core.ui.app import build_app
        from iga_core.ui.demo_models import ensure_demo_models, reset_demo_models
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "gradio":
            raise GradioMissing("gradio is not installed",
                                "install the UI extra from your copy of this repository: pip install '.[ui]' "
                                "(the project is on no package index)") from None
        raise
    if args.reset_demo:
        folder = reset_demo_models()
        print(f"[IGA] demo folder made again from the examples: {folder}")
    else:
        folder = args.models or ensure_demo_models()
    demo = build_app(folder, loras_dir=args.loras)
    print(f"[IGA] models folder: {folder}")
    demo.queue()
    try:
        demo.launch(server_name=args.host, server_port=args.port, inbrowser=False, show_error=True)
    except (OSError, OverflowError) as exc:  # taken between the check and the launch
        if isinstance(exc, OSError) and exc.errno is not None:
            raise _bind_error(args.host, args.port, exc) from None
        raise PortInUse(f"cannot listen on {args.host}:{args.port}: {exc}",
                        f"pass another --port (e.g. --port {args.port + 1}), or --host 127.0.0.1") from None
    return ExitCode.OK


def register(sub) -> None:
    p = sub.add_parser(
        "ui",
        help="open the IGA panel and Recipes tab in a local web page",
        description="Serve the IGA panel and the Recipes tab on a local port. Without --models, a demo folder "
        "of tiny checkpoints stamped from metadata_examples/ is created on first run (under $IGA_DATA_DIR or "
        "the user data folder); --reset-demo makes it again, dropping every edit made to it.",
    )
    p.add_argument("--models", metavar="DIR", help="folder of checkpoints to list (default: the demo folder)")
    p.add_argument("--loras", metavar="DIR", help="folder of LoRAs whose recipes compose with the checkpoint's "
                   "(default: a Lora/ folder beside --models, or the demo's)")
    p.add_argument("--port", type=port_number, default=7870, help="port to listen on, 1-65535 (default 7870)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--reset-demo", action="store_true",
                   help="delete the demo checkpoints (and what the Recipes tab wrote to them) and make them again")
    p.set_defaults(func=_run)
