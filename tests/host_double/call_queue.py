"""Mirror of modules/call_queue.py: `queue_lock` (A call_queue.py:8, F 10), the FIFO lock every generation
runs under (A fifo_lock.py:6-36). The double's lock is a plain `threading.Lock`: the tests run one request at
a time, so the FIFO order of waiting threads is not modelled.

`wrap_gradio_call_no_job` (A call_queue.py:65-89, reForge 65-94, Forge Classic `wrap_gradio_call` 45-73): what
the UI shows of a generation, `list(func(...))`, and of a failure, `<div class='error'>{ExcClass}: {message}</div>`
after the extra outputs. Used by txt2img.py on the hosts whose main thread drops the exception (flavours.py
`main_thread`): there `func` returns None and `list(None)` is the error shown (R 74), which Classic renames
(C 56-58). The memory monitor and timing lines (R 91-131) are left out."""

from __future__ import annotations

import html
import threading
from functools import wraps

queue_lock = threading.Lock()


def wrap_gradio_call_no_job(func, extra_outputs=None, add_stats=False):
    from modules import errors, shared

    @wraps(func)
    def f(*args, extra_outputs_array=extra_outputs, **kwargs):
        try:
            res = list(func(*args, **kwargs))
        except Exception as e:
            if (shared.HOST == "forge-classic" and isinstance(e, TypeError)
                    and "'NoneType' object is not iterable" in str(e)):  # C call_queue.py:56-58
                errors.report("Error(s) occurred during generation", exc_info=False)
                e = RuntimeError("Error(s) occurred during generation")
            else:  # R call_queue.py:75-83 (the argument dump shortened)
                errors.report("Error completing request", exc_info=True)
            if extra_outputs_array is None:
                extra_outputs_array = [None, '']
            error_message = f'{type(e).__name__}: {e}'
            res = extra_outputs_array + [f"<div class='error'>{html.escape(error_message)}</div>"]
        return tuple(res)

    return f
