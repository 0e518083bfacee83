"""One settings object, read from ``DISPENSER_*`` environment variables and an optional file.

The file (``DISPENSER_SETTINGS_FILE``, TOML, keys without the prefix and in lower case) gives
defaults for a deployment; an environment variable always wins over the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from dispenser_core.exceptions import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'dispenser.sqlite'}"


@dataclass(frozen=True)
class Settings:
    """What a deployment can change. Secrets never have a default here."""

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    # Files dropped here (units, roster, absences, attlog) are what the extract step loads.
    inbox_dir: Path = field(default=DEFAULT_DATA_DIR / "inbox")
    timezone: str = "Asia/Jakarta"
    notify_url: str = "http://127.0.0.1:8765"
    notify_token: str = ""
    notify_timeout_seconds: float = 10.0
    notify_max_attempts: int = 5
    notify_concurrency: int = 8
    approvers: tuple[str, ...] = ("approver",)
    approval_timeout_hours: float = 72.0
    appreciation_top_per_unit: int = 3
    # How long a failed pipeline step waits before Airflow retries it (twice).
    retry_delay_seconds: float = 30.0
    # An attendance system's HTTP API, when the city has one (in Airflow, the connection
    # dispenser_attendance_api wins over these).
    api_url: str = ""
    api_token: str = ""
    api_login: str = ""
    api_password: str = ""
    api_mapping: str = ""
    api_overlap_minutes: int = 60

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _convert(name: str, raw: object, default: object) -> object:
    try:
        if isinstance(default, Path):
            return Path(str(raw)).expanduser()
        if isinstance(default, bool):
            return str(raw).lower() in {"1", "true", "yes"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            items = raw if isinstance(raw, list) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
    except (TypeError, ValueError) as err:
        raise ConfigurationError(
            f"DISPENSER_{name.upper()}={raw!r} is not a valid {type(default).__name__}; "
            "fix the environment variable or the settings file."
        ) from err
    return str(raw)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from the settings file (if any) and the environment."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}

    settings_file = environ.get("DISPENSER_SETTINGS_FILE")
    if settings_file:
        try:
            values.update(tomllib.loads(Path(settings_file).read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigurationError(
                f"Cannot read the settings file {settings_file}: {err}. "
                "Fix it or unset DISPENSER_SETTINGS_FILE."
            ) from err

    for setting in fields(Settings):
        env_name = f"DISPENSER_{setting.name.upper()}"
        if env_name in environ:
            values[setting.name] = environ[env_name]

    known = {setting.name: setting for setting in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigurationError(f"Unknown settings {unknown}; known ones are {sorted(known)}.")

    defaults = Settings()
    converted = {name: _convert(name, raw, getattr(defaults, name)) for name, raw in values.items()}
    data_dir = Path(converted.get("data_dir", defaults.data_dir))
    converted.setdefault("inbox_dir", data_dir / "inbox")
    if not converted.get("database_url"):
        converted["database_url"] = _default_database_url(data_dir)
    return Settings(**converted)
