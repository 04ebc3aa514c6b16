"""The Services of a worker process, for tasks (which Celery calls with ids only).

`hub worker` binds the runtime it built; a process that imported the tasks some other way (for
example `celery -A`) builds one from the environment on first use. Pool processes forked from
the worker keep the runtime but not the database connections of their parent.
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init

from hub.services import Services

_runtime: Services | None = None
_pid: int | None = None


def bind(runtime: Services) -> None:
    global _runtime, _pid
    _runtime, _pid = runtime, os.getpid()


def worker_runtime() -> Services:
    global _runtime, _pid
    if _runtime is None:
        raise RuntimeError("no hub services bound in this process: start workers with `hub worker`")
    if _pid != os.getpid():
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
