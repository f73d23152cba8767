"""Mirror of reForge's modules_forge/main_thread.py (3b56b268; Forge Classic 5136ce20 has the same loop), which
runs every txt2img / img2img of the UI (R txt2img.py:130-134, img2img.py:249; C txt2img.py:159-164): a task
list worked by one thread, whose loop catches any exception, prints it and leaves the task's `result` None
(R main_thread.py:29-42, C 43-58). `run_and_wait_result` then returns that None (R 54-67, C 78-91), and the
UI's `wrap_gradio_call_no_job` fails on `list(None)` (R call_queue.py:74; call_queue.py here).

The host's loop runs forever on the main thread (R webui.py:209, launch_utils.py:571-573); the double works
the waiting list once per `run_and_wait_result`, on the caller's thread, with the loop's own body (`_work`):
the same outcome, one request at a time. Forge's and Neo's main thread, which keep the exception
(F main_thread.py:27-37, Neo 28-37), are not modelled (flavours.py `main_thread`)."""

from __future__ import annotations

import threading
import traceback

lock = threading.Lock()
last_id = 0
waiting_list = []
finished_list = []


class Task:  # R main_thread.py:17-26, verbatim
    def __init__(self, task_id, func, args, kwargs):
        self.task_id = task_id
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.result = None

    def work(self):
        self.result = self.func(*self.args, **self.kwargs)


def _work():
    """One turn of the host's `loop()` (R main_thread.py:33-42, verbatim but for the sleep)."""
    if len(waiting_list) > 0:
        with lock:
            task = waiting_list.pop(0)
        try:
            task.work()
        except Exception as e:
            traceback.print_exc()
            print(e)
        with lock:
            finished_list.append(task)


def async_run(func, *args, **kwargs):  # R main_thread.py:45-51, verbatim
    global last_id
    with lock:
        last_id += 1
        new_task = Task(task_id=last_id, func=func, args=args, kwargs=kwargs)
        waiting_list.append(new_task)
    return new_task.task_id


def run_and_wait_result(func, *args, **kwargs):  # R main_thread.py:54-67; the loop's turn taken here
    current_id = async_run(func, *args, **kwargs)
    while True:
        _work()
        finished_task = None
        for t in finished_list.copy():  # thread safe shallow copy without needing a lock
            if t.task_id == current_id:
                finished_task = t
                break
        if finished_task is not None:
            with lock:
                finished_list.remove(finished_task)
            return finished_task.result
