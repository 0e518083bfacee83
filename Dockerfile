# The production image: Airflow with Dispenser installed from the pinned constraints.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root pyproject.toml constraints.txt README.md /opt/dispenser/
COPY --chown=airflow:root dispenser_core /opt/dispenser/dispenser_core
COPY --chown=airflow:root dags /opt/dispenser/dags
COPY --chown=airflow:root plugins /opt/dispenser/plugins
COPY --chown=airflow:root sql /opt/dispenser/sql
COPY --chown=airflow:root expectations /opt/dispenser/expectations
COPY --chown=airflow:root deploy /opt/dispenser/deploy

RUN pip install --no-cache-dir -c /opt/dispenser/constraints.txt -e /opt/dispenser
