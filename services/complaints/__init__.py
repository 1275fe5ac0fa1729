"""Complaints service: complaints from the public and integrators, their working-day clocks."""
