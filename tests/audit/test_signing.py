import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from hub.audit.signing import (
    KEY_FILE,
    AuditKeyError,
    key_id_for,
    load_audit_key,
    load_public_key,
    verify_signature,
)
from hub.runtime import Runtime
from hub.settings import Settings


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_key_file_is_made_once_with_mode_0600(settings: Settings) -> None:
    path = settings.data_dir / KEY_FILE
    assert not path.exists()
    key = load_audit_key(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key.key_id) == 16 and int(key.key_id, 16) >= 0
    again = load_audit_key(settings)
    assert again.key_id == key.key_id
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_key_file_created_under_a_permissive_umask_is_still_0600(settings: Settings) -> None:
    old = os.umask(0)
    try:
        load_audit_key(settings)
    finally:
        os.umask(old)
    assert stat.S_IMODE((settings.data_dir / KEY_FILE).stat().st_mode) == 0o600


def test_key_file_readable_by_others_is_refused(settings: Settings) -> None:
    load_audit_key(settings)
    path = settings.data_dir / KEY_FILE
    path.chmod(0o644)
    with pytest.raises(AuditKeyError) as err:
        load_audit_key(settings)
    message = str(err.value)
    assert str(path) in message and "0644" in message and "chmod 600" in message
    assert "PRIVATE KEY" not in message


def test_concurrent_first_use_agrees_on_one_key(settings: Settings) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(4)

    def load() -> None:
        barrier.wait()
        ids.append(load_audit_key(settings).key_id)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4 and len(set(ids)) == 1
    assert [p.name for p in settings.data_dir.iterdir() if "audit" in p.name] == [KEY_FILE]


def test_key_from_settings_wins_and_writes_no_file(settings: Settings) -> None:
    private = Ed25519PrivateKey.generate()
    configured = settings.model_copy(update={"audit_signing_key": SecretStr(_pem(private))})
    key = load_audit_key(configured)
    assert key.key_id == key_id_for(private.public_key())
    assert not (settings.data_dir / KEY_FILE).exists()


@pytest.mark.parametrize(
    "value",
    [
        "not a key at all",
        generate_private_key(SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
    ],
    ids=["garbage", "ec-key"],
)
def test_unusable_key_in_settings_is_named_without_echoing_it(
    settings: Settings, value: str
) -> None:
    configured = settings.model_copy(update={"audit_signing_key": SecretStr(value)})
    with pytest.raises(AuditKeyError) as err:
        load_audit_key(configured)
    assert "HUB_AUDIT_SIGNING_KEY" in str(err.value)
    assert value not in str(err.value)


def test_public_pem_alone_verifies_signatures(settings: Settings, tmp_path: Path) -> None:
    key = load_audit_key(settings)
    exported = tmp_path / "audit.pub"
    exported.write_text(key.public_pem)
    public = load_public_key(exported.read_bytes(), source=str(exported))
    assert key_id_for(public) == key.key_id
    signature = key.sign(b"message")
    assert verify_signature(public, signature, b"message")
    assert not verify_signature(public, signature, b"messagE")
    with pytest.raises(AuditKeyError, match="not a PEM public key"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_runtime_loads_the_key_once(runtime: Runtime) -> None:
    assert runtime.audit_key is runtime.audit_key
    assert runtime.audit_key.key_id == load_audit_key(runtime.settings).key_id
