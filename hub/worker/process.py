"""The Runtime of a worker process, for tasks (which Celery calls with ids only).

`hub worker` binds the runtime it built; a process that imported the tasks some other way (for
example `celery -A`) builds one from the environment on first use. Pool processes forked from
the worker keep the runtime but not the database connections of their parent.
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init

from hub.runtime import Runtime
from hub.settings import load_settings

_runtime: Runtime | None = None
_pid: int | None = None


def bind(runtime: Runtime) -> None:
    global _runtime, _pid
    _runtime, _pid = runtime, os.getpid()


def worker_runtime() -> Runtime:
    global _runtime, _pid
    if _runtime is None:
        _runtime, _pid = Runtime(load_settings()), os.getpid()
    elif _pid != os.getpid():
        _forget_parent_connections()
    return _runtime


@worker_process_init.connect
def _on_pool_process_start(**_: object) -> None:
    if _runtime is not None:
        _forget_parent_connections()


def _forget_parent_connections() -> None:
    global _pid
    assert _runtime is not None
    # the parent's pooled connections belong to the parent: a forked child opens its own and
    # must not close theirs (close=False)
    _runtime.engine.dispose(close=False)
    _pid = os.getpid()
