"""Dispenser: attendance discipline for a city's civil servants, without Airflow.

Every rule and every step of the pipeline lives here as plain Python so that it runs and is
tested on its own; `dags/` and `plugins/` only wire these steps into Airflow.
"""

__version__ = "0.1.0"
