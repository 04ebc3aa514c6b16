"""The embedded broker never hands a reader a message still being written."""

from pathlib import Path

from hub.runtime import Runtime


def test_messages_appear_whole_and_partial_files_are_skipped(runtime: Runtime) -> None:
    if not runtime.settings.is_embedded_broker:
        import pytest

        pytest.skip("embedded broker only")
    with runtime.celery.connection_for_write() as conn:
        folder = Path(conn.transport_options["data_folder_out"])
        queue = conn.SimpleQueue("probe")
        # what a reader could see mid-write with kombu's own transport: an empty message file
        (folder / ".1_x.probe.msg.part").write_bytes(b"")
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        assert message.payload == {"n": 1}
        message.ack()
        assert sorted(p.name for p in folder.iterdir()) == [".1_x.probe.msg.part"]
        queue.close()
