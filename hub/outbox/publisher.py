"""The background publisher: hands the messages a transaction wrote to the broker after it
commits, off the committing thread, so that nothing but the answer follows a request's commit.

A transaction's commit only puts its new ids on this process's queue (`Publisher.put`, no I/O);
a thread of the process takes what has piled up, marks those still pending and due as
dispatched in one statement and sends them (`service.dispatch_ids`). Nothing is lost if that
fails or never happens (a broker down, the process stopped first): the rows stay pending, and
the scheduled dispatcher sends them at its next pass.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import TYPE_CHECKING

from hub.outbox import service

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger("hub.outbox")

# the most ids one pass marks and sends
BATCH = 200
# how long `stop` waits for what was queued before it to be sent
STOP_SECONDS = 5.0

_STOP = None


class Publisher:
    def __init__(self, runtime: Services, *, batch: int = BATCH) -> None:
        self._runtime = runtime
        self._batch = batch
        self._queue: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        # set while nothing is queued or being sent (`wait_idle`)
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._stopped = False

    def put(self, ids: list[str]) -> None:
        """Queue the ids a transaction committed for the thread to send (started on first use,
        and again in a process forked from this one)."""
        if not ids:
            return
        with self._lock:
            if self._stopped:
                return  # the dispatcher's next pass sends them
            self._pending += 1
            self._idle.clear()
            self._queue.put(list(ids))
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="hub-outbox-publisher", daemon=True
                )
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until everything queued so far has been handled; False on timeout."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Send what is queued (waiting up to `timeout`), then end the thread; later commits
        leave their messages to the dispatcher."""
        with self._lock:
            self._stopped = True
            thread = self._thread if self._pid == os.getpid() else None
            if thread is None or not thread.is_alive():
                return
            self._queue.put(_STOP)
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            ids, taken, stop = list(item), 1, False
            # what piled up meanwhile goes in the same pass
            while len(ids) < self._batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                ids.extend(more)
                taken += 1
            self._publish(ids)
            with self._lock:
                self._pending -= taken
                if self._pending == 0:
                    self._idle.set()
            if stop:
                return

    def _publish(self, ids: list[str]) -> None:
        try:
            service.dispatch_ids(self._runtime, ids)
        except Exception as exc:
            log.warning(
                "could not dispatch after commit; the dispatcher will",
                extra={"error_type": type(exc).__name__, "count": len(ids)},
            )
