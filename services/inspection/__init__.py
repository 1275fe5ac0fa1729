"""Inspection: turns risks, accepted complaints and the patrol plan into tasks for the market's
task force (专班), records findings, orders and verifies rectification, escalates what is overdue.

`services.inspection.domain` holds the pure rules; the service around it (Kafka handlers,
Postgres store, HTTP API, scheduler) calls them with the state it loaded and a clock reading.
"""
