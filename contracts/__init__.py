"""Market Sentinel's public event contracts: envelope, topic catalog and event models.

Integrators and every service depend on this package; it depends on pydantic only.
"""
