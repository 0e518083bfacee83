"""Notices to employees and their direct supervisors, and the outbox they are sent from."""
