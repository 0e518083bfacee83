"""Dispenser's extensions of Airflow: the draft approval step (and, later, dashboard pages)."""
