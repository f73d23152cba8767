"""`iga ui`: the standalone app (the IGA panel and the Recipes tab in a plain Gradio page)."""

from __future__ import annotations

import argparse

from iga_core.errors import ExitCode, IgaIOError


class GradioMissing(IgaIOError):
    """`iga ui` needs gradio, which is an optional dependency."""


def _run(args: argparse.Namespace) -> int:
    try:
        from iga_core.ui.app import build_app
        from iga_core.ui.demo_models import ensure_demo_models
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "gradio":
            raise GradioMissing("gradio is not installed", "install the UI extra: pip install 'sd-webui-iga[ui]'") from None
        raise
    folder = args.models or ensure_demo_models()
    demo = build_app(folder, loras_dir=args.loras)
    print(f"[IGA] models folder: {folder}")
    demo.queue()
    demo.launch(server_name=args.host, server_port=args.port, inbrowser=False, show_error=True)
    return ExitCode.OK


def register(sub) -> None:
    p = sub.add_parser(
        "ui",
        help="open the IGA panel and Recipes tab in a local web page",
        description="Serve the IGA panel and the Recipes tab on a local port. Without --models, a demo folder "
        "of tiny checkpoints stamped from metadata_examples/ is created on first run (under $IGA_DATA_DIR or "
        "the user data folder).",
    )
    p.add_argument("--models", metavar="DIR", help="folder of checkpoints to list (default: the demo folder)")
    p.add_argument("--loras", metavar="DIR", help="folder of LoRAs whose recipes compose with the checkpoint's "
                   "(default: a Lora/ folder beside --models, or the demo's)")
    p.add_argument("--port", type=int, default=7870, help="port to listen on (default 7870)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.set_defaults(func=_run)
