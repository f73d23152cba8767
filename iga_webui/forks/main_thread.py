"""What the host's main thread does with an exception of the UI's generation task (docs/hosts.md §2), and so
whether IGA's refusal reaches the html log under Generate.

- `none` (A1111): no main thread; txt2img / img2img run on the request's thread (A txt2img.py:102-120) and
  `wrap_gradio_call_no_job` shows the exception as "GuardBlocked: <message>" (A call_queue.py:73-89).
- `keeps_error` (Forge, Neo): the task keeps it (`Task.exception`, `last_exception`, F main_thread.py:27-37,
  Neo 28-37) and call_queue shows it (F call_queue.py:77-88). Nothing to do.
- `drops_error` (reForge, Forge Classic): the loop catches it, prints it and leaves the task's result None
  (reForge modules_forge/main_thread.py:29-42, classic 43-58); `run_and_wait_result` returns that None
  (reForge 54-67, classic 78-91) to txt2img / img2img (reForge txt2img.py:130-134, img2img.py:249; classic
  txt2img.py:159-164), and call_queue fails on `list(None)`: the html log said "TypeError: 'NoneType' object
  is not iterable" in a real reForge (reForge call_queue.py:74; classic turns it into "RuntimeError: Error(s)
  occurred during generation", classic call_queue.py:53-58). `install` wraps `run_and_wait_result` so that
  IGA's own exception of the task (the guard's `GuardBlocked`, a typed `IgaError` such as the consistency
  report's) is raised again in the caller after the host's loop printed it, and call_queue shows it as on
  A1111. Other exceptions are the host's and pass as before.
"""

from __future__ import annotations

import functools
from typing import Any

from iga_core.errors import IgaError
from iga_webui.blocking import GuardBlocked

#: the exceptions IGA raises to refuse or report inside a generation, and so re-raises where the host drops them
OWN = (GuardBlocked, IgaError)
_MARK = "__iga_reraises__"


class NoMainThread:
    name = "none"
    needs_main_thread = False

    def install(self, main_thread: Any) -> bool:
        return False


class KeepsError(NoMainThread):
    name = "keeps_error"


class DropsError:
    name = "drops_error"
    needs_main_thread = True

    def install(self, main_thread: Any) -> bool:
        """Wrap `main_thread.run_and_wait_result` (idempotent across script reloads); False when the host module
        has no such function."""
        current = getattr(main_thread, "run_and_wait_result", None)
        if current is None:
            return False
        original = current.__wrapped__ if getattr(current, _MARK, False) else current
        main_thread.run_and_wait_result = reraising(original)
        return True


def reraising(run_and_wait_result):
    """`run_and_wait_result(func, *args, **kwargs)` that raises IGA's own exception of `func` in the caller."""

    @functools.wraps(run_and_wait_result)
    def wrapper(func, *args, **kwargs):
        caught: list[BaseException] = []

        def task(*a, **k):
            try:
                return func(*a, **k)
            except OWN as exc:
                caught.append(exc)
                raise  # the host's loop prints it, as for any failed task

        result = run_and_wait_result(task, *args, **kwargs)
        if caught:
            raise caught[0]
        return result

    setattr(wrapper, _MARK, True)
    return wrapper


VARIANTS = {"none": NoMainThread(), "keeps_error": KeepsError(), "drops_error": DropsError()}
