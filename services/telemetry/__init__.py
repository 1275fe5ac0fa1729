"""Telemetry: verifies terminal readings and turns them into food-safety and market-order risks."""
