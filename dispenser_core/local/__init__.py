"""Local stand-ins and launchers for a laptop, the demo and the tests.

Nothing here runs in production: the notification service imitates the ASN gateway that the
city runs, and the Airflow launcher starts ``airflow standalone`` bound to 127.0.0.1.
"""
