"""All settings, loaded in one place: ``MLTUTOR_*`` environment variables over a TOML file.

The TOML file is ``$MLTUTOR_CONFIG`` if set, else ``config.toml`` in the platform config dir
(``platformdirs.user_config_dir("mltutor")``). Settings are frozen once loaded; parts receive the values
they need through factories, never by reading the environment themselves.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mltutor.tools.limits import ToolLimits

APP_NAME = "mltutor"


def default_config_file() -> Path:
    """Where the TOML config is read from when ``MLTUTOR_CONFIG`` is not set."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def config_file() -> Path:
    """The TOML config path in force (it may not exist: then only env vars and defaults apply)."""
    env = os.environ.get("MLTUTOR_CONFIG")
    return Path(env).expanduser() if env else default_config_file()


class EmbeddedSettings(BaseModel):
    """The bundled local model's server (``MLTUTOR_EMBEDDED__*``): one per user, shared by every
    mltutor process, started on first use and stopped after ``idle_timeout_s`` without users."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    threads: int | None = Field(default=None, ge=1, le=256)
    """CPU threads for generation; unset: every CPU this process may use."""

    slots: int = Field(default=1, ge=1, le=16)
    """Requests the server works on at once; more queue. One is fastest on a few cores (requests
    in parallel share the same cores); raise it on a machine with many."""

    context_tokens: int = Field(default=4096, ge=512, le=32768)
    """Context window of one slot in tokens (prompt plus answer)."""

    max_tokens: int = Field(default=512, ge=16, le=32768)
    """Token budget of a request that names none: an answer, a grade or a tool call stops there."""

    idle_timeout_s: float = Field(default=300.0, ge=0)
    """Seconds the server stays up after the last mltutor process using it exits (the next
    command then starts warm); 0 stops it at once."""

    prompt_cache_mib: int = Field(default=256, ge=0, le=65536)
    """Memory for prompt prefixes kept beyond the slots (the tutor's and the judge's system
    prompts take turns in one slot); 0 turns it off."""

    batch_tokens: int = Field(default=32, ge=8, le=2048)
    """Prompt tokens the server reads per step. Larger steps read a long prompt faster on an idle
    machine, but a stopped request keeps the server busy until its step ends, and the next
    request (from any process) waits that long (see ``ServerOptions.batch_tokens``)."""

    startup_timeout_s: float = Field(default=120.0, gt=0)
    """Longest wait for the server to load the model and answer."""

    state_dir: Path | None = None
    """Where the shared server's state file, lock and log live; unset: ``<cache_dir>/embedded``."""


class Settings(BaseSettings):
    """Every user-facing setting of mltutor."""

    model_config = SettingsConfigDict(
        env_prefix="MLTUTOR_", frozen=True, extra="ignore", env_nested_delimiter="__"
    )

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    """Persistent data: the Chroma index, user material, sessions."""

    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir(APP_NAME)))
    """Rebuildable files: the assembled embedded model, downloads never happen here."""

    chroma_url: str | None = None
    """Use a Chroma server at this URL (``http://host:port``) instead of the local persistent index."""

    base_url: str | None = None
    """OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp). Unset: the embedded model."""

    model: str | None = None
    """Model name at ``base_url`` for the tutor role."""

    judge_model: str | None = None
    """Model name for the judge role (grading, verification); defaults to ``model``."""

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MLTUTOR_API_KEY", "OPENAI_API_KEY", "api_key")
    )
    """API key for ``base_url``; ``OPENAI_API_KEY`` is honoured too."""

    request_timeout_s: float = Field(default=120.0, gt=0)
    """Timeout for one model request."""

    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries with backoff on 429/5xx/connection errors."""

    best_of: int = Field(default=1, ge=1, le=16)
    """Number of candidate answers generated and scored per question (best-of-N)."""

    max_revisions: int = Field(default=1, ge=0, le=5)
    """How many times a draft whose claims fail verification is revised."""

    language: str = "auto"
    """Answer language: ``auto`` (follow the question), ``en`` or ``ru``."""

    tools: ToolLimits = Field(default_factory=ToolLimits)
    """Time and size bounds for the math tools and the derivation checker."""

    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    """The bundled local model's server (used when no endpoint is configured)."""

    best_of_concurrency: int = Field(default=1, ge=1, le=16)
    """Best-of-N candidates requested at once. 1 (one after another) suits the embedded model and
    any single-slot server; raise it for a server with several slots (vLLM, a hosted API)."""

    best_of_time_budget_s: float = Field(default=180.0, gt=0)
    """Best-of-N stops sampling new candidates once drafting has taken this long."""

    best_of_token_budget: int = Field(default=4000, ge=1)
    """Best-of-N stops sampling new candidates once this many tokens (estimated) were drafted."""

    notes_lead: bool = True
    """Open an answer with our notes' own text when the question matches a bank question or a note
    section with confidence, and show the model only the evidence that matches the question. False:
    no lead, the model composes from every retrieved section (for before/after comparisons)."""

    verify_prose: bool = True
    """Check the model's own sentences against the notes (contradicted ones removed, unsupported ones
    marked). False: only formulas and computed results are checked (for before/after comparisons)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the file or variable to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_settings(**overrides: Any) -> Settings:
    """Load settings once at start-up (overrides are for CLI flags and tests)."""
    import tomllib

    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config_file()} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(
            f"invalid setting ({problems}); check MLTUTOR_* variables and {config_file()}"
        ) from None
