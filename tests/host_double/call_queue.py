"""Mirror of modules/call_queue.py: `queue_lock` (A call_queue.py:8, F 10), the FIFO lock every generation
runs under (A fifo_lock.py:6-36). The double's lock is a plain `threading.Lock`: the tests run one request at
a time, so the FIFO order of waiting threads is not modelled."""

from __future__ import annotations

import threading

queue_lock = threading.Lock()
