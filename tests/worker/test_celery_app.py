"""The Celery app's configuration: what makes "deliver again rather than lose" true."""

from __future__ import annotations

import stat

from hub.settings import Settings, load_settings
from hub.wiring import TASK_MODULES
from hub.worker.celery_app import (
    AUDIT_CHECKPOINT_TASK,
    DISPATCH_OUTBOX_TASK,
    RUN_OUTBOX_TASK,
    broker_folders,
    make_celery,
)


def _settings(settings: Settings, **overrides: object) -> Settings:
    return load_settings(**{**settings.model_dump(exclude_defaults=True), **overrides})


def test_messages_are_acknowledged_late_json_only_one_at_a_time(settings: Settings) -> None:
    conf = make_celery(settings).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.task_ignore_result is True
    assert not conf.result_backend


def test_the_embedded_broker_lives_in_private_folders_under_the_data_dir(
    settings: Settings,
) -> None:
    embedded = _settings(settings, broker_url=None)
    conf = make_celery(embedded).conf
    folders = broker_folders(embedded)
    assert conf.broker_url.startswith("filesystem://")
    options = conf.broker_transport_options
    assert options["data_folder_in"] == options["data_folder_out"] == str(folders["queue"])
    assert options["control_folder"] == str(folders["control"])
    for folder in folders.values():
        assert folder.is_relative_to(embedded.data_dir)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert conf.worker_enable_remote_control is False
    assert conf.beat_schedule_filename.startswith(str(embedded.data_dir))


def test_a_redis_broker_gets_the_visibility_timeout_and_key_prefix(settings: Settings) -> None:
    redis = _settings(
        settings,
        broker_url="redis://127.0.0.1:6379/15",
        broker_visibility_timeout=42,
        broker_key_prefix="hub-a:",
    )
    conf = make_celery(redis).conf
    assert conf.broker_url == "redis://127.0.0.1:6379/15"
    assert conf.broker_transport_options == {"visibility_timeout": 42, "global_keyprefix": "hub-a:"}
    assert not (redis.data_dir / "broker" / "queue").exists()


def test_the_schedule_follows_the_settings(settings: Settings) -> None:
    custom = _settings(settings, outbox_poll_seconds=0.5, audit_checkpoint_seconds=60)
    schedule = make_celery(custom).conf.beat_schedule
    by_task = {entry["task"]: entry for entry in schedule.values()}
    assert by_task[DISPATCH_OUTBOX_TASK]["schedule"] == 0.5
    assert by_task[AUDIT_CHECKPOINT_TASK]["schedule"] == 60.0
    # a tick nobody ran in time is dropped rather than piling up
    assert all(entry["options"]["expires"] > 0 for entry in schedule.values())


def test_handlers_are_limited_to_their_lease(settings: Settings) -> None:
    custom = _settings(settings, outbox_lease_seconds=50)
    limits = make_celery(custom).conf.task_annotations[RUN_OUTBOX_TASK]
    assert limits["soft_time_limit"] == 50
    assert limits["time_limit"] > 50


def test_the_worker_imports_the_task_modules_and_the_configured_extras(
    settings: Settings,
) -> None:
    custom = _settings(settings, worker_include="tests.support.outbox_handlers, a.b")
    include = list(make_celery(custom, task_modules=TASK_MODULES).conf.include)
    assert include == [*TASK_MODULES, "tests.support.outbox_handlers", "a.b"]
