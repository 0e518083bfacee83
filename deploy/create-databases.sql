-- Airflow's metadata and Dispenser's data live in separate databases of one PostgreSQL.
-- Run once by the postgres image on an empty volume; passwords come from the environment.
CREATE DATABASE dispenser;
