import logging

import pytest

from hub.audit.chain import ChainBroken, Reason
from hub.audit.models import AuditCheckpoint
from hub.audit.tasks import make_checkpoint
from hub.runtime import Runtime
from tests.audit.tamper import build_chain, sql, verify_now


def test_make_checkpoint_commits_its_own_checkpoint(runtime: Runtime) -> None:
    assert make_checkpoint(runtime) is None  # empty chain: nothing to sign
    build_chain(runtime, 3)
    cp = make_checkpoint(runtime)
    assert cp is not None and cp.seq == 3
    with runtime.sessions() as db:
        assert db.query(AuditCheckpoint).count() == 1
    assert make_checkpoint(runtime) is None
    assert verify_now(runtime).checkpointed_seq == 3


def test_make_checkpoint_logs_and_raises_on_a_broken_chain(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    build_chain(runtime, 3)
    sql(runtime, "UPDATE audit_entries SET actor = 'someone' WHERE seq = 2")
    with caplog.at_level(logging.ERROR, logger="hub.audit"), pytest.raises(ChainBroken):
        make_checkpoint(runtime)
    (record,) = [r for r in caplog.records if r.name == "hub.audit"]
    assert record.seq == 2 and record.reason == Reason.HASH_MISMATCH  # type: ignore[attr-defined]
    assert "someone" not in caplog.text
    with runtime.sessions() as db:
        assert db.query(AuditCheckpoint).count() == 0


def test_tasks_module_does_not_need_celery() -> None:
    import subprocess
    import sys

    code = "import sys; sys.modules['celery'] = None; import hub.audit.tasks; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr
