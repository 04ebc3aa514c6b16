"""The scheduled audit checkpoint, run by the scheduler of a real worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from hub.audit.models import AuditCheckpoint
from hub.audit.service import record
from hub.runtime import Runtime
from hub.settings import Settings, load_settings
from tests.support.workers import HANDLERS, HUB, HubProcess, settings_env, wait_for

pytestmark = pytest.mark.worker


def test_the_scheduler_signs_audit_checkpoints(
    worker_settings: Settings, hub_processes: Callable[..., HubProcess]
) -> None:
    settings = load_settings(
        **{**worker_settings.model_dump(exclude_defaults=True), "audit_checkpoint_seconds": 1}
    )
    rt = Runtime(settings)
    try:
        with rt.sessions.begin() as db:
            record(db, actor="test", action="test.checkpoint", object_type="test")
        worker = hub_processes(
            [HUB, "worker", "--beat", "--pool", "solo", "--include", HANDLERS],
            settings_env(settings),
            "worker",
        )

        def checkpoints() -> list[int]:
            with rt.sessions() as db:
                return list(db.scalars(select(AuditCheckpoint.seq)))

        assert wait_for(checkpoints, "an audit checkpoint", watch=worker) == [1]
    finally:
        rt.dispose()
