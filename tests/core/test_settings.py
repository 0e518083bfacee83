"""Settings from DISPENSER_* environment variables and an optional TOML settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispenser_core.exceptions import ConfigurationError
from dispenser_core.settings import DEFAULT_DATA_DIR, Settings, load_settings


def _settings_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "dispenser.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


class TestDefaults:
    def test_nothing_set_gives_the_embedded_sqlite_under_the_data_folder(self):
        settings = load_settings({})

        assert settings.data_dir == DEFAULT_DATA_DIR
        assert settings.inbox_dir == DEFAULT_DATA_DIR / "inbox"
        assert settings.database_url == f"sqlite:///{DEFAULT_DATA_DIR / 'dispenser.sqlite'}"
        assert settings.is_sqlite

    def test_defaults_point_only_at_this_machine_and_hold_no_secret(self):
        settings = load_settings({})

        assert settings.notify_url == "http://127.0.0.1:8765"
        assert settings.notify_token == ""
        assert (settings.notify_max_attempts, settings.approvers) == (5, ("approver",))

    def test_other_prefixes_are_ignored(self):
        assert load_settings({"AIRFLOW_HOME": "/opt/airflow", "DATA_DIR": "/x"}) == load_settings(
            {}
        )

    def test_process_environment_is_read_when_none_is_given(self, monkeypatch, tmp_path):
        monkeypatch.setenv("DISPENSER_DATA_DIR", str(tmp_path / "own"))

        assert load_settings().data_dir == tmp_path / "own"


class TestEnvironment:
    def test_data_dir_moves_the_inbox_and_the_database_with_it(self):
        settings = load_settings({"DISPENSER_DATA_DIR": "/srv/dispenser"})

        assert settings.data_dir == Path("/srv/dispenser")
        assert settings.inbox_dir == Path("/srv/dispenser/inbox")
        assert settings.database_url == "sqlite:////srv/dispenser/dispenser.sqlite"

    def test_database_url_and_inbox_set_on_their_own_are_kept(self):
        settings = load_settings(
            {
                "DISPENSER_DATA_DIR": "/srv/dispenser",
                "DISPENSER_DATABASE_URL": "postgresql+psycopg2://dispenser@127.0.0.1/dispenser",
                "DISPENSER_INBOX_DIR": "/mnt/terminals",
            }
        )

        assert settings.database_url == "postgresql+psycopg2://dispenser@127.0.0.1/dispenser"
        assert settings.inbox_dir == Path("/mnt/terminals")
        assert not settings.is_sqlite

    def test_empty_database_url_falls_back_to_the_embedded_sqlite(self):
        settings = load_settings({"DISPENSER_DATA_DIR": "/srv/d", "DISPENSER_DATABASE_URL": ""})

        assert settings.database_url == "sqlite:////srv/d/dispenser.sqlite"

    @pytest.mark.parametrize(
        ("name", "raw", "field", "value"),
        [
            ("DISPENSER_NOTIFY_MAX_ATTEMPTS", "7", "notify_max_attempts", 7),
            ("DISPENSER_NOTIFY_TIMEOUT_SECONDS", "2.5", "notify_timeout_seconds", 2.5),
            ("DISPENSER_APPROVAL_TIMEOUT_HOURS", "24", "approval_timeout_hours", 24.0),
            ("DISPENSER_APPROVERS", "kabid, sekretaris,,", "approvers", ("kabid", "sekretaris")),
            ("DISPENSER_TIMEZONE", "Asia/Makassar", "timezone", "Asia/Makassar"),
            ("DISPENSER_NOTIFY_TOKEN", "s3cret", "notify_token", "s3cret"),
        ],
        ids=["int", "float", "float-from-int-text", "comma-list", "text", "token"],
    )
    def test_value_is_converted_to_the_settings_type(self, name, raw, field, value):
        assert getattr(load_settings({name: raw}), field) == value

    def test_home_folder_in_a_path_is_expanded(self):
        assert load_settings({"DISPENSER_INBOX_DIR": "~/inbox"}).inbox_dir == Path.home() / "inbox"

    @pytest.mark.parametrize(
        ("name", "raw", "type_name"),
        [
            ("DISPENSER_NOTIFY_MAX_ATTEMPTS", "five", "int"),
            ("DISPENSER_NOTIFY_CONCURRENCY", "2.5", "int"),
            ("DISPENSER_APPRECIATION_TOP_PER_UNIT", "", "int"),
            ("DISPENSER_NOTIFY_TIMEOUT_SECONDS", "10s", "float"),
        ],
        ids=["word", "fraction-for-int", "empty", "unit-suffix"],
    )
    def test_bad_number_is_refused_naming_the_variable(self, name, raw, type_name):
        with pytest.raises(
            ConfigurationError, match=rf"^{name}={raw!r} is not a valid {type_name}; fix the"
        ):
            load_settings({name: raw})


class TestSettingsFile:
    def test_file_gives_deployment_defaults(self, tmp_path):
        path = _settings_file(
            tmp_path,
            'notify_url = "http://127.0.0.1:9000"\n'
            "notify_max_attempts = 3\n"
            'approvers = ["kabid", "sekretaris"]\n'
            f'data_dir = "{tmp_path / "data"}"\n',
        )

        settings = load_settings({"DISPENSER_SETTINGS_FILE": path})

        assert settings.notify_url == "http://127.0.0.1:9000"
        assert settings.notify_max_attempts == 3
        assert settings.approvers == ("kabid", "sekretaris")
        assert settings.inbox_dir == tmp_path / "data" / "inbox"
        assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'dispenser.sqlite'}"

    def test_environment_wins_over_the_file(self, tmp_path):
        path = _settings_file(
            tmp_path, 'notify_max_attempts = 3\nnotify_url = "http://127.0.0.1:9000"\n'
        )

        settings = load_settings(
            {"DISPENSER_SETTINGS_FILE": path, "DISPENSER_NOTIFY_MAX_ATTEMPTS": "9"}
        )

        assert settings.notify_max_attempts == 9
        assert settings.notify_url == "http://127.0.0.1:9000"

    def test_unknown_setting_in_the_file_is_refused_with_the_known_ones(self, tmp_path):
        path = _settings_file(tmp_path, 'notify_urll = "http://127.0.0.1:9000"\n')

        with pytest.raises(
            ConfigurationError, match=r"Unknown settings \['notify_urll'\]; known ones are \['"
        ):
            load_settings({"DISPENSER_SETTINGS_FILE": path})

    def test_upper_case_key_in_the_file_is_unknown(self, tmp_path):
        path = _settings_file(tmp_path, "NOTIFY_MAX_ATTEMPTS = 3\n")

        with pytest.raises(ConfigurationError, match=r"Unknown settings \['NOTIFY_MAX_ATTEMPTS'\]"):
            load_settings({"DISPENSER_SETTINGS_FILE": path})

    def test_bad_int_in_the_file_names_the_setting(self, tmp_path):
        path = _settings_file(tmp_path, 'notify_max_attempts = "many"\n')

        with pytest.raises(
            ConfigurationError, match=r"DISPENSER_NOTIFY_MAX_ATTEMPTS='many' is not a valid int"
        ):
            load_settings({"DISPENSER_SETTINGS_FILE": path})

    def test_list_where_a_number_belongs_is_refused_naming_the_setting(self, tmp_path):
        path = _settings_file(tmp_path, "notify_max_attempts = [3]\n")

        with pytest.raises(
            ConfigurationError, match=r"DISPENSER_NOTIFY_MAX_ATTEMPTS=\[3\] is not a valid int"
        ):
            load_settings({"DISPENSER_SETTINGS_FILE": path})

    def test_missing_file_is_refused_with_a_next_step(self, tmp_path):
        missing = str(tmp_path / "absent.toml")

        with pytest.raises(
            ConfigurationError,
            match=r"Cannot read the settings file .*absent\.toml.*unset DISPENSER_SETTINGS_FILE",
        ):
            load_settings({"DISPENSER_SETTINGS_FILE": missing})

    def test_file_that_is_not_toml_is_refused(self, tmp_path):
        path = _settings_file(tmp_path, "notify_max_attempts: 3\n")

        with pytest.raises(ConfigurationError, match=r"Cannot read the settings file"):
            load_settings({"DISPENSER_SETTINGS_FILE": path})

    def test_settings_object_is_frozen(self):
        with pytest.raises(AttributeError):
            Settings().notify_url = "http://127.0.0.1:1"  # type: ignore[misc]
