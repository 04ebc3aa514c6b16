"""The hub's settings: one object, read from `HUB_*` environment variables at start.

Nothing reads the environment at import time; `load_settings()` is called by the CLI or the
app factory and the result is passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hub.wording import plain_message

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "referral-hub"
REPO_SPECS = Path(__file__).resolve().parent.parent / "specs"


class InvalidSettings(Exception):
    """Start-up refused: the message names every bad `HUB_` variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # no `.env` file is configured, so the dotenv source finds nothing: it is left out, as
        # it still works through every field's type at each load (half of a load's CPU)
        return init_settings, env_settings, file_secret_settings

    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Folder for the embedded database, broker, keyring and signing keys.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; empty means SQLite at `$HUB_DATA_DIR/hub.sqlite3`. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    broker_url: str | None = Field(
        None,
        description="Celery broker; empty means kombu's filesystem transport under "
        "`$HUB_DATA_DIR/broker` (no server). Production: `redis://...` or `amqp://...`.",
    )
    broker_visibility_timeout: int = Field(
        300,
        ge=1,
        description="Seconds before a broker redelivers a message a dead worker took.",
    )
    broker_key_prefix: str = Field(
        "",
        max_length=64,
        description="Prefix of every key the hub writes to a Redis broker, so several hubs "
        "(or test runs) can share one Redis database.",
    )
    worker_max_tasks_per_child: int = Field(
        1000,
        ge=0,
        description="Tasks a worker's pool process runs before it is replaced by a fresh one "
        "(0: never). The heap of a long-lived process only grows with fragmentation; replacing "
        "it now and then keeps the worker's memory flat.",
    )
    worker_include: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra modules the worker imports at start to register outbox handlers "
        "(comma separated dotted names).",
    )
    kek_provider: Literal["file", "env"] = Field(
        "file",
        description="Where key-encryption keys come from: `file` (a 0600 keyring under "
        "`$HUB_DATA_DIR`) or `env` (`HUB_KEK_KEYS`).",
    )
    kek_keys: SecretStr | None = Field(
        None,
        description="With `HUB_KEK_PROVIDER=env`: `version:base64key` pairs separated by "
        "commas; the highest version wraps new data keys.",
    )
    audit_signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key (PEM) that signs audit checkpoints; empty means a "
        "0600 key file under `$HUB_DATA_DIR`.",
    )
    audit_checkpoint_seconds: int = Field(
        300, ge=1, description="How often the scheduler signs an audit checkpoint."
    )
    deadline_check_seconds: int = Field(
        60,
        ge=1,
        description="How often the scheduler looks for referrals to remind, flag overdue or "
        "fail for want of an acknowledgement.",
    )
    outbox_poll_seconds: float = Field(
        2.0, gt=0, description="How often the dispatcher hands due outbox rows to Celery."
    )
    outbox_dispatch_on_commit: bool = Field(
        True,
        description="Hand new outbox messages to the broker as soon as the transaction that "
        "wrote them commits, from a background thread of the process (the request does not wait "
        "for it); the scheduled dispatcher sends whatever this misses.",
    )
    outbox_lease_seconds: int = Field(
        120,
        ge=1,
        description="A dispatched or running outbox row not done after this is dispatched "
        "again (a lost message or a dead worker loses nothing); one never claimed waits as long "
        "as it already has before the next time (up to an hour), so a backlog is not doubled.",
    )
    outbox_max_attempts: int = Field(
        8, ge=1, description="Attempts before an outbox row is dead-lettered."
    )
    outbox_backoff_seconds: int = Field(
        5, ge=1, description="First retry delay; doubles each attempt, with jitter."
    )
    lookup_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a process keeps stable lookups (an organisation, the kind of its "
        "delivery channel) before reading them again; a change made through this process drops "
        "them at once. 0: read every time. Agreements and consents are never cached.",
    )
    policy_file: Path = Field(
        REPO_SPECS / "policy.yaml", description="The policy file (vocabularies, rules)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the JSON logs."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted, in bytes."
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The hub's external base URL; the OAuth issuer and token audience. Unset, "
        "`hub serve` uses the address it listens at (`--host`, `--port`).",
    )
    access_token_seconds: int = Field(
        900,
        ge=60,
        le=3600,
        description="Lifetime of the access tokens the hub issues, in seconds.",
    )
    token_rate_limit: str = Field(
        "30/minute",
        pattern=r"^\s*[1-9][0-9]*\s*/\s*(second|minute|hour)\s*$",
        description="Failed client authentications allowed per claimed client id and source "
        "address (`N/second`, `N/minute` or `N/hour`); a source gets 4 times this across all "
        "the ids it claims, a client 10 times this in successful requests (sliding windows in "
        "each server process; behind a proxy, run uvicorn with `--forwarded-allow-ips` so the "
        "source is the caller's address).",
    )
    console_session_idle_minutes: int = Field(
        30,
        ge=1,
        le=1440,
        description="A console session unused for this many minutes ends; the person signs "
        "in again.",
    )
    console_session_absolute_minutes: int = Field(
        720,
        ge=5,
        le=10080,
        description="A console session ends this many minutes after sign-in, however active.",
    )
    signin_max_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="Consecutive failed sign-ins (passwords or second-factor codes) that lock "
        "a console account.",
    )
    signin_lock_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="How long a locked console account refuses every sign-in, even with the "
        "right password.",
    )
    signin_rate_limit: str = Field(
        "10/minute",
        pattern=r"^\s*[1-9][0-9]*\s*/\s*(second|minute|hour)\s*$",
        description="Console sign-in attempts allowed per e-mail address and per client "
        "address: `N/second`, `N/minute` or `N/hour` (a sliding window in each server "
        "process).",
    )
    connector_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts a connector may reach even when they resolve to private or "
        "loopback addresses (comma separated).",
    )
    connector_require_https: bool = Field(
        True, description="Refuse outbound URLs that are not https."
    )
    connector_connect_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="Connect timeout of a connector's outbound request."
    )
    connector_read_timeout_seconds: float = Field(
        20.0,
        gt=0,
        le=300,
        description="Read (and write) timeout of a connector's outbound request, per "
        "network operation.",
    )
    connector_total_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=600,
        description="Deadline for a connector's whole request, response body included (a "
        "partner sending its answer byte by byte is cut off); keep it under the outbox lease.",
    )
    connector_max_response_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest response body a connector reads from a partner; a longer one "
        "fails the attempt.",
    )
    retention_run_seconds: int = Field(
        86400,
        ge=60,
        description="How often the scheduler purges the closed cases past the policy's "
        "retention (`hub retention run`).",
    )
    fhir_poll_seconds: int = Field(
        60,
        ge=1,
        description="How often the scheduler reads back the status of the Tasks pushed to "
        "partners' FHIR servers.",
    )
    smtp_host: str | None = Field(
        None,
        description="Mail server for the people's notifications (`hub.notifications`); unset, "
        "no email is sent (the console still shows them). An email carries a link and the "
        "notification's code, never personal data.",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of `HUB_SMTP_HOST`.")
    smtp_starttls: bool = Field(
        False, description="Upgrade the mail connection with STARTTLS before anything is sent."
    )
    smtp_username: str | None = Field(
        None, description="User name for the mail server, if it asks for one."
    )
    smtp_password: SecretStr | None = Field(None, description="Password for `HUB_SMTP_USERNAME`.")
    smtp_from: str = Field(
        "referral-hub@localhost", description="The sender address of the notification emails."
    )
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of each mail server operation, in seconds."
    )

    @field_validator("connector_allowed_hosts", "worker_include", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("database_url", "broker_url", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _env_keys_present(self) -> Settings:
        if self.kek_provider == "env" and not self.kek_keys:
            raise ValueError("HUB_KEK_KEYS is required when HUB_KEK_PROVIDER=env")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hub.sqlite3'}"

    @property
    def celery_broker_url(self) -> str:
        # a host named, or kombu warns on every connection that it supplied one
        return self.broker_url or "filesystem://localhost//"

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value raises InvalidSettings naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) if err["loc"] else ""
            name = f"HUB_{field.upper()}" if field else "settings"
            lines.append(f"{name}: {plain_message(err)}")
        raise InvalidSettings("invalid settings:\n  " + "\n  ".join(lines)) from None
