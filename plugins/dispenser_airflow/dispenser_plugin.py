"""Registers Dispenser's pages with Airflow: the FastAPI app of ``web.py`` under
``/dispenser`` and two entries in the UI's navigation that show its pages inside the UI."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from dispenser_airflow.web import app


class DispenserPlugin(AirflowPlugin):
    name = "dispenser"
    fastapi_apps = [{"app": app, "url_prefix": "/dispenser", "name": "Dispenser"}]
    external_views = [
        {
            "name": "Dasbor Disiplin",
            "href": "dispenser/",
            "url_route": "dispenser-dasbor",
            "destination": "nav",
        },
        {
            "name": "Rekapitulasi Kehadiran",
            "href": "dispenser/rekap",
            "url_route": "dispenser-rekap",
            "destination": "nav",
        },
    ]
