"""The one shared package every service is built on: settings, Kafka wiring, Postgres pool and
migrations, transactional outbox, inbox, dead-letter path, auth, metrics, health and logging.

Services import from here and from `contracts`, never from each other.
"""
