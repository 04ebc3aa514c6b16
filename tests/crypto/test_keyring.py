import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from hub.crypto.keyring import (
    AddsVersions,
    EnvKeyring,
    FileKeyring,
    KeyEncryptionKeys,
    KeyringError,
    UnknownKeyVersion,
    load_keyring,
)
from hub.runtime import Runtime
from hub.settings import load_settings


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_keyring_is_created_on_first_use_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keyring.json"
    keyring = FileKeyring(path)
    assert not path.exists()
    old = os.umask(0)  # even a permissive umask must not widen the file
    try:
        assert keyring.current_version == 1
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600
    assert mode_of(path.with_name("keyring.json.lock")) == 0o600
    assert len(keyring.key(1)) == 32
    assert FileKeyring(path).key(1) == keyring.key(1)


def test_file_keyring_refuses_a_file_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = FileKeyring(path)
    keyring.key(1)
    path.chmod(0o644)
    for fresh in (keyring, FileKeyring(path)):
        with pytest.raises(KeyringError) as info:
            fresh.key(1)
        assert "0644" in str(info.value) and "chmod 600" in str(info.value)
    path.chmod(0o640)
    with pytest.raises(KeyringError, match="wider than 0600"):
        FileKeyring(path).current_version  # noqa: B018


def test_add_version_keeps_old_keys_and_other_instances_see_it(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    first, second = FileKeyring(path), FileKeyring(path)
    v1 = first.key(1)
    assert second.current_version == 1
    assert first.add_version() == 2
    assert first.current_version == 2 and first.key(1) == v1
    # another process's (cached) keyring picks up the new version from disk
    assert second.current_version == 2
    assert second.key(2) == first.key(2) != v1
    assert mode_of(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json", "keyring.json.lock"]


def test_concurrent_rotations_lose_no_version(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    FileKeyring(path).key(1)
    barrier = threading.Barrier(6)
    added: list[int] = []

    def rotate() -> None:
        barrier.wait()
        added.append(FileKeyring(path).add_version())

    threads = [threading.Thread(target=rotate) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(added) == [2, 3, 4, 5, 6, 7]
    assert FileKeyring(path).versions() == [1, 2, 3, 4, 5, 6, 7]


def test_unknown_version_and_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    with pytest.raises(UnknownKeyVersion, match="version 9"):
        FileKeyring(path).key(9)
    fd = os.open(tmp_path / "bad.json", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b'{"format": 1, "keys": [{"version": 1, "key": "c2VjcmV0"}]}')
    os.close(fd)
    with pytest.raises(KeyringError) as info:
        FileKeyring(tmp_path / "bad.json").current_version  # noqa: B018
    assert "not a valid hub keyring file" in str(info.value)
    assert "c2VjcmV0" not in str(info.value)


def test_env_keyring_highest_version_is_current() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    keyring = EnvKeyring.parse(f" 2:{b64(k2)} , 1:{b64(k1)} ")
    assert keyring.current_version == 2
    assert keyring.key(1) == k1 and keyring.key(2) == k2
    assert isinstance(keyring, KeyEncryptionKeys)
    assert not isinstance(keyring, AddsVersions)
    with pytest.raises(UnknownKeyVersion, match="HUB_KEK_KEYS"):
        keyring.key(3)


SECRET = b64(b"s" * 16)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "no key-encryption key"),
        (SECRET, "entry 1 is not `version:base64key`"),
        (f"one:{SECRET}", "entry 1 is not"),
        (f"0:{b64(b'v' * 32)}", "versions start at 1"),
        (f"1:{SECRET}", "16 bytes"),
        ("1:@@not*base64@@", "not valid base64"),
        (f"1:{b64(b'k' * 32)},1:{b64(b'k' * 32)}", "given twice"),
    ],
)
def test_env_keyring_malformed_value_names_the_variable(value: str, expected: str) -> None:
    with pytest.raises(KeyringError) as info:
        EnvKeyring.parse(value)
    message = str(info.value)
    assert message.startswith("HUB_KEK_KEYS") and expected in message
    assert SECRET not in message and "@@not" not in message


def test_load_keyring_follows_the_provider_setting(tmp_path: Path) -> None:
    file_settings = load_settings(data_dir=tmp_path)
    keyring = load_keyring(file_settings)
    assert isinstance(keyring, FileKeyring) and isinstance(keyring, AddsVersions)
    assert keyring.path == tmp_path / "keyring.json"

    key = os.urandom(32)
    env_settings = load_settings(data_dir=tmp_path, kek_provider="env", kek_keys=f"7:{b64(key)}")
    env = load_keyring(env_settings)
    assert isinstance(env, EnvKeyring) and env.current_version == 7 and env.key(7) == key

    bad = load_settings(data_dir=tmp_path, kek_provider="env", kek_keys="7:short")
    with pytest.raises(KeyringError, match="HUB_KEK_KEYS"):
        load_keyring(bad)


def test_runtime_holds_one_keyring(runtime: Runtime) -> None:
    assert runtime.keyring is runtime.keyring
    assert runtime.keyring.current_version == 1
    assert mode_of(runtime.settings.data_dir / "keyring.json") == 0o600
