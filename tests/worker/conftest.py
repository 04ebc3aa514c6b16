from tests.support.workers import (  # noqa: F401 (fixtures)
    broker_prefix,
    hub_processes,
    outbox_runtime,
    start_worker,
    worker_settings,
)
