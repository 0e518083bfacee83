"""Where the "Tarik Data" step finds the attendance API: the Airflow connection
``dispenser_attendance_api`` (here given as an environment variable, as a deployment may), else
the settings."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from dispenser_core.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from dispenser_airflow import intake  # noqa: E402

CONNECTION_VARIABLE = "AIRFLOW_CONN_DISPENSER_ATTENDANCE_API"


@pytest.fixture(autouse=True)
def airflow_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.delenv(CONNECTION_VARIABLE, raising=False)


def test_a_connection_with_a_token_and_extras(monkeypatch):
    monkeypatch.setenv(
        CONNECTION_VARIABLE,
        "http://127.0.0.1:8765/?token=rahasia-kota&source=api-kota&overlap_minutes=30",
    )
    config, source = intake.attendance_api()
    assert (config.base_url, config.token, config.login, config.password) == (
        "http://127.0.0.1:8765",
        "rahasia-kota",
        "",
        "",
    )
    assert (config.overlap_minutes, source) == (30, "api-kota")


def test_a_connection_with_basic_credentials_over_https(monkeypatch):
    monkeypatch.setenv(
        CONNECTION_VARIABLE,
        '{"conn_type": "http", "host": "127.0.0.1", "port": 8443, "schema": "https", '
        '"login": "dispenser", "password": "kata-sandi-panjang"}',
    )
    config, source = intake.attendance_api()
    assert (config.base_url, config.login, config.password, config.token) == (
        "https://127.0.0.1:8443",
        "dispenser",
        "kata-sandi-panjang",
        "",
    )
    assert (config.overlap_minutes, source) == (60, "api")


def test_a_mapping_file_named_in_the_extra_is_read(monkeypatch, tmp_path):
    mapping = tmp_path / "kota-lain.json"
    mapping.write_text('{"timezone": "Asia/Makassar"}')
    monkeypatch.setenv(
        CONNECTION_VARIABLE,
        '{"conn_type": "http", "host": "http://127.0.0.1:9000", '
        f'"extra": {{"mapping": "{mapping}"}}}}',
    )
    config, _ = intake.attendance_api()
    assert (config.base_url, config.mapping) == (
        "http://127.0.0.1:9000",
        {"timezone": "Asia/Makassar"},
    )


def test_without_a_connection_the_settings_decide(monkeypatch):
    assert intake.attendance_api() is None
    monkeypatch.setattr(
        intake,
        "SETTINGS",
        dataclasses.replace(intake.SETTINGS, api_url="http://127.0.0.1:8766/", api_token="t0ken"),
    )
    config, source = intake.attendance_api()
    assert (config.base_url, config.token, source) == ("http://127.0.0.1:8766", "t0ken", "api")
