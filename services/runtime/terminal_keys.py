"""Terminal signing keys, derived rather than stored: HMAC(master secret, terminal id, version).

Only registry and telemetry hold the master secret. Registry hands a terminal its key once, at
provisioning; telemetry re-derives it to verify readings, so no key travels on a topic. Bumping
the key version in the registry rotates the key.
"""

from __future__ import annotations

import hashlib
import hmac


def derive_key(master_secret: bytes, terminal_id: str, key_version: int) -> bytes:
    if not master_secret:
        raise ValueError("the terminal master secret is empty (SENTINEL_TERMINAL_MASTER_SECRET)")
    if key_version < 1:
        raise ValueError("key_version starts at 1")
    message = f"sentinel-terminal-key|{terminal_id}|{key_version}".encode()
    return hmac.new(master_secret, message, hashlib.sha256).digest()
