"""One Settings object for every Maestro process.

Values come from (highest priority first) ``MAESTRO_*`` environment variables, an optional config
file (TOML, YAML or JSON) named by ``MAESTRO_CONFIG_FILE``, then the defaults below.
"""

from __future__ import annotations

import json
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

WELL_KNOWN_PASSWORDS = frozenset(
    {"admin", "password", "changeme", "maestro", "secret", "letmein", "123456", "12345678", "admin123"}
)


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the optional config file named by MAESTRO_CONFIG_FILE (keys are field names)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("MAESTRO_CONFIG_FILE")
        if not path:
            return {}
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"MAESTRO_CONFIG_FILE={path} does not exist")
        text = p.read_text()
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(text) or {}
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            raise ValueError(f"MAESTRO_CONFIG_FILE must end in .toml, .yaml, .yml or .json, got {path}")
        if not isinstance(data, dict):
            raise ValueError(f"MAESTRO_CONFIG_FILE={path} must hold a mapping of setting names to values")
        return {str(k).lower(): v for k, v in data.items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAESTRO_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses unsafe defaults (insecure cookies)."
    )
    data_dir: Path = Field(Path(".maestro"), description="Where the embedded stack keeps its data.")
    log_level: str = Field("INFO", description="Python log level for Maestro processes.")

    api_host: str = Field("127.0.0.1", description="Interface the API binds to.")
    api_port: int = Field(8000, description="Port of the API and web UI.")
    public_url: str | None = Field(None, description="External URL of the UI (default: http://api_host:api_port).")

    temporal_address: str | None = Field(
        None, description="host:port of an external Temporal frontend; unset starts the embedded dev server."
    )
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    temporal_port: int = Field(7233, description="Port of the embedded Temporal server.")
    temporal_ui_port: int = Field(8233, description="Port of the embedded Temporal Web UI.")
    temporal_ui_url: str | None = Field(None, description="Temporal Web UI URL for links (external Temporal).")
    control_task_queue: str = Field("maestro-control", description="Task queue of control workflows.")
    control_accept_seconds: float = Field(
        8.0,
        gt=0,
        le=120,
        description="How long a control sent by the API (cancel, approve, pause, promote…) waits for a worker to accept "
        "it; past that the control is withdrawn and the API answers 503 naming what is missing.",
    )

    redis_url: str | None = Field(None, description="redis:// URL of an external Redis/Valkey; unset starts embedded Valkey.")
    redis_port: int = Field(6390, description="Port of the embedded Valkey server.")

    database_url: str | None = Field(
        None, description="SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...); unset uses SQLite in data_dir."
    )

    cookie_secure: bool = Field(True, description="Send the session cookie with the Secure flag.")
    session_ttl_hours: int = Field(12, description="Lifetime of a login session.")
    login_max_failures: int = Field(5, description="Failed logins allowed per username+client in the window.")
    login_window_seconds: int = Field(300, description="Window of the failed-login rate limit.")
    admin_username: str = Field("admin", description="Username of the bootstrap admin.")
    admin_password: str | None = Field(None, description="Bootstrap admin password; unset generates one and prints it once.")

    max_body_bytes: int = Field(1_048_576, description="Largest request body accepted (bytes).")
    idempotency_ttl_seconds: int = Field(86_400, description="How long Idempotency-Key responses are kept.")
    stream_maxlen: int = Field(10_000, description="Approximate max length of each Redis event stream.")
    sse_heartbeat_seconds: float = Field(15.0, description="Seconds between SSE heartbeats.")
    sse_recheck_seconds: float = Field(
        5.0,
        description="How often an open SSE stream re-checks its caller (session, token, role bindings); "
        "a caller who lost access is sent an `end` event and disconnected.",
    )
    health_interval_seconds: float = Field(5.0, description="How often the API re-checks readiness for the live ribbon.")

    rate_card: dict[str, float] = Field(
        default_factory=lambda: {"default": 0.008 / 60},
        description='USD per runner-second by pool, JSON (e.g. {"default": 0.000133, "gpu": 0.01}).',
    )
    runner_queue_prefix: str = Field("maestro-runner-", description="Runner task queues are PREFIX + pool.")
    runner_concurrency: int = Field(32, description="Steps one runner executes at the same time.")
    runner_pool: str = Field("default", description="Pool served by `maestro runner` (task queue maestro-runner-POOL).")
    runner_isolation: Literal["sandbox", "none"] = Field(
        "sandbox",
        description="How a runner isolates steps: `sandbox` (bubblewrap + slirp4netns as the step user) or `none` "
        "(admin only: steps see the runner's host; their runs carry an unisolated badge and provenance says so).",
    )
    step_user: str = Field("maestro-step", description="Unprivileged host user every sandboxed step runs as.")
    step_blocked_networks: list[str] = Field(
        default_factory=lambda: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"],
        description="IPv4 networks steps can never reach, JSON (default: private and CGNAT ranges, where clusters keep "
        "their services); the host's own addresses and link-local are always blocked. [] lets steps reach an internal "
        "registry.",
    )
    runner_toolchains: list[Path] = Field(
        default_factory=list,
        description='Extra host directories bound read-only into every step of this pool, JSON (e.g. ["/opt/node"]).',
    )
    workspace_dir: Path | None = Field(None, description="Step workspaces (default: data_dir/workspaces).")
    workspace_retention_minutes: int = Field(
        0,
        ge=0,
        description="Minutes a finished run's workspaces stay on the runner (0: removed when the run ends); "
        "a pipeline with `keepWorkspace: true` keeps its own.",
    )
    artifact_dir: Path | None = Field(None, description="Content-addressed artifact store (default: data_dir/artifacts).")
    artifact_store: Literal["local", "s3"] = Field(
        "local", description="Where artifacts live: a local directory or S3-compatible storage."
    )
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, Ceph, AWS); unset = AWS default.")
    s3_bucket: str = Field("maestro-artifacts", description="Bucket for artifacts when MAESTRO_ARTIFACT_STORE=s3.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_access_key_id: str | None = Field(None, description="S3 access key (unset: the usual AWS credential chain).")
    s3_secret_access_key: str | None = Field(None, description="S3 secret key.")
    artifact_max_bytes: int = Field(
        2 << 30, ge=1, description="Largest artifact a runner stores (bytes); a bigger file is skipped with a log line."
    )
    step_log_max_lines: int = Field(100_000, description="Log lines kept per step attempt; the rest is cut with a marker.")
    step_log_max_line_bytes: int = Field(16_384, description="Longer log lines are truncated.")

    edge_host: str = Field("127.0.0.1", description="Interface the edge router binds to.")
    edge_port: int = Field(8088, description="Port of the edge router (`maestro edge`): /<service>/<path> → stable or canary.")
    edge_refresh_seconds: float = Field(
        0.5, gt=0, description="How often an edge router re-reads routes (weights) and flushes its traffic counters."
    )
    edge_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="How long the edge router waits to connect to an upstream before answering 504."
    )
    edge_upstream_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="How long the edge router waits for an upstream's response head, or for its next byte, "
        "before a 504 or a cut.",
    )
    edge_max_body_bytes: int = Field(
        100 * 1024 * 1024, ge=0, description="Largest request body the edge router forwards (streamed); more is a 413."
    )
    gateway_host: str = Field("127.0.0.1", description="Interface the model gateway binds to.")
    gateway_port: int = Field(
        8089, description="Port of the model gateway (`maestro gateway`): OpenAI- and Anthropic-compatible /v1/… endpoints."
    )
    gateway_public_url: str | None = Field(
        None,
        description="The gateway's URL as clients reach it (shown in Routing Studio); unset: http://gateway_host:gateway_port.",
    )
    gateway_refresh_seconds: float = Field(
        1.0,
        gt=0,
        le=10,
        description="How often a gateway replica re-reads routing configuration, cooldowns and kill switches from Redis, "
        "syncs rate-limit counters and flushes accounting (kill switches take effect within this).",
    )
    gateway_max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body the gateway accepts (413 above)."
    )
    gateway_data_keys: SecretStr | None = Field(
        None,
        description="Data keys that seal provider API keys (AES-256-GCM): `id:base64,id:base64`, the first seals. "
        "Unset: a key ring created 0600 at data_dir/gateway-keys. Set the same value on the API and every gateway.",
    )
    gateway_usage_stream_maxlen: int = Field(
        1_000_000, ge=1000, description="Accounting records kept in the Redis stream maestro:gateway:usage (oldest trimmed)."
    )
    provider_sync_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often the control worker syncs routes carried by an external traffic provider (HAProxy, …): "
        "re-applies weights the provider forgot (a reload) and samples its per-version traffic counters.",
    )
    ui_build: Literal["auto", "never"] = Field(
        "auto", description="`maestro up` builds the web UI when it is missing or stale (`never` skips it)."
    )

    alert_eval_interval_seconds: int = Field(30, description="How often the alert evaluator (a Temporal schedule) runs.")
    alertmanager_url: str | None = Field(
        None, description="Alertmanager base URL; firing/resolved alerts are pushed to its v2 API."
    )
    alert_queue_wait_seconds: int = Field(
        300, ge=1, description="RunQueueSaturated fires when a step has waited this long for a runner of its pool."
    )
    alert_failure_spike_minutes: int = Field(15, ge=1, description="Window of the RunFailureSpike alert.")
    alert_failure_spike_min_runs: int = Field(
        5, ge=1, description="RunFailureSpike fires when this many runs of a pipeline failed in the window (and ≥ half)."
    )
    alert_policy_denials: int = Field(
        10,
        ge=1,
        description="PolicyDenialSpike fires at this many denials of one point in MAESTRO_ALERT_FAILURE_SPIKE_MINUTES.",
    )
    pagerduty_routing_key: str | None = Field(
        None, description="PagerDuty Events v2 integration key; alerts trigger, acknowledge and resolve incidents."
    )
    pagerduty_events_url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events v2 endpoint (change for a proxy)."
    )
    budget_tick_seconds: float = Field(
        10.0, ge=0.2, le=3600, description="How often each BudgetWorkflow re-reads its scope's spend from the ledger."
    )
    finance_webhook_url: str | None = Field(
        None, description="Receives each budget's period summary when a period closes (POST, signed with the secret)."
    )
    finance_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key signing finance webhooks (X-Maestro-Signature); required with the URL."
    )
    worker_heartbeat_seconds: int = Field(
        10, ge=1, description="Workers and runners report liveness to Redis this often (maestro_workers_up)."
    )
    policy_timeout_ms: int = Field(
        1000, ge=10, le=60_000, description="A policy evaluation taking longer is stopped and counts as a denial."
    )
    signing_key_file: Path | None = Field(
        None, description="ECDSA P-256 private key (PEM) for signatures and evidence; unset: created at data_dir/keys."
    )
    prometheus_url: str | None = Field(None, description="Prometheus base URL for rollout analyses with provider: prometheus.")
    provider_resources: list[str] = Field(
        default_factory=list,
        description="What traffic providers may drive from the control worker, JSON list of patterns (fnmatch): "
        '"haproxy:<adminSocket>/<backend>" and "gateway-api:<kubeconfig path, or in-cluster>/<namespace>/<httpRoute>", '
        'e.g. ["haproxy:/run/haproxy/admin.sock/*"]. A service naming anything else is refused (422), and no two '
        "services may drive the same target (409): a tenant's settings never reach a proxy the operator did not list.",
    )
    rollout_continue_after_events: int = Field(
        10_000,
        ge=100,
        le=40_000,
        description="A rollout's workflow continues as new once its Temporal history holds this many events "
        "(the hard limit is 51,200); the state the UI shows carries over, the full history stays in SQL.",
    )
    trace_retention_hours: int = Field(72, description="Spans kept in the database for run waterfalls (0 = keep none).")
    otlp_endpoint: str | None = Field(None, description="OTLP/HTTP traces endpoint, e.g. http://collector:4318.")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        """`MAESTRO_REDIS_URL=` (empty) means "not set", as in most deployment tools."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data

    @model_validator(mode="after")
    def _check(self) -> Settings:
        pw = self.admin_password
        if pw is not None and (pw.lower() in WELL_KNOWN_PASSWORDS or len(pw) < 12):
            raise ValueError(
                "MAESTRO_ADMIN_PASSWORD is a well-known or short value (min 12 chars): unset it to have Maestro generate one"
            )
        if self.environment == "production" and not self.cookie_secure:
            raise ValueError("MAESTRO_COOKIE_SECURE=false is refused when MAESTRO_ENVIRONMENT=production")
        if self.finance_webhook_url and self.finance_webhook_secret is None:
            raise ValueError("MAESTRO_FINANCE_WEBHOOK_URL needs MAESTRO_FINANCE_WEBHOOK_SECRET (finance verifies the signature)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    # Derived values -------------------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'maestro.db').resolve()}"

    @property
    def embedded_redis_password_file(self) -> Path:
        """The embedded Valkey's generated password (0600; read by every Maestro process, never on argv)."""
        return (self.data_dir / "valkey" / "password").resolve()

    @property
    def effective_redis_url(self) -> str:
        if self.redis_url:
            return self.redis_url
        try:
            pw = self.embedded_redis_password_file.read_text().strip()
        except OSError:
            pw = ""
        auth = f":{pw}@" if pw else ""
        return f"redis://{auth}127.0.0.1:{self.redis_port}/0"

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_temporal_ui_url(self) -> str | None:
        if self.temporal_ui_url:
            return self.temporal_ui_url
        if self.temporal_address is None:
            return f"http://127.0.0.1:{self.temporal_ui_port}"
        return None

    @property
    def effective_workspace_dir(self) -> Path:
        return (self.workspace_dir or self.data_dir / "workspaces").resolve()

    @property
    def effective_artifact_dir(self) -> Path:
        return (self.artifact_dir or self.data_dir / "artifacts").resolve()

    @property
    def effective_public_url(self) -> str:
        host = "localhost" if self.api_host in {"127.0.0.1", "0.0.0.0", "::"} else self.api_host
        return self.public_url or f"http://{host}:{self.api_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
