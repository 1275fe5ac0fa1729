"""Inspection configuration: `INSPECTION_*` variables, falling back to the stack-wide ones.

The rules' numbers (`domain.Policy` defaults, docs/rules.md "Inspection") are overridden by

- `INSPECTION_POLICY_FILE`: a YAML (or JSON) file of overrides, e.g.
  `risk_due: {critical: 1h}` / `patrol_interval: {D: 60d}`;
- `INSPECTION_POLICY`: the same as a JSON object, applied over the file (a mapping setting is
  merged entry by entry, so the variable can change one SLA the file set).

Only what is named changes; everything else keeps its default. A policy that cannot be read or
breaks a rule (an unknown name, a negative duration, a grade missing) stops the service at
start-up with the reason, instead of running on a guess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.inspection.domain import Policy
from services.runtime.settings import ServiceSettings


class InvalidPolicy(ValueError):
    """The configured policy cannot be used; the message says where and why."""


class InspectionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSPECTION_")
    service_name: ClassVar[str] = "inspection"
    default_port: ClassVar[int] = 8103
    # Read only under the INSPECTION_ prefix: a stack-wide POLICY or POLICY_FILE could be another
    # service's (credit's scoring policy is a data file too).
    own_only: ClassVar[frozenset[str]] = frozenset({"policy", "policy_file"})

    clock_check_interval_s: float = 30.0
    patrol_check_interval_s: float = Field(
        default=60.0, description="how often the scheduler looks for patrols that came due"
    )
    gauge_refresh_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="how often the task and rectification gauges are recounted from the database "
        "(they are also recounted at start-up and after each change)",
    )
    photo_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="the largest photo an inspector may upload"
    )
    policy: dict[str, Any] | None = Field(
        default=None, description="overrides of the inspection policy, as a JSON object"
    )
    policy_file: Path | None = Field(
        default=None, description="a YAML or JSON file of policy overrides"
    )

    @field_validator("policy", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError(f"INSPECTION_POLICY is not JSON: {exc}") from exc
        if value is not None and not isinstance(value, dict):
            raise ValueError("INSPECTION_POLICY must be a JSON object of policy settings")
        return value

    def load_policy(self) -> Policy:
        """The domain policy: defaults, then the file's overrides, then `policy`'s."""
        overrides: dict[str, Any] = {}
        sources: list[str] = []
        if self.policy_file is not None:
            overrides = _read(self.policy_file)
            sources.append(f"INSPECTION_POLICY_FILE={self.policy_file}")
        if self.policy is not None:
            for name, value in self.policy.items():
                current = overrides.get(name)
                if isinstance(current, dict) and isinstance(value, dict):
                    overrides[name] = {**current, **value}
                else:
                    overrides[name] = value
            sources.append("INSPECTION_POLICY")
        try:
            return Policy.from_dict(overrides)
        except (ValueError, TypeError) as exc:
            raise InvalidPolicy(
                f"invalid inspection policy ({' + '.join(sources)}): {exc}"
            ) from exc


def _read(path: Path) -> dict[str, Any]:
    where = f"INSPECTION_POLICY_FILE={path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidPolicy(f"{where}: cannot read it: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)  # YAML reads JSON too
    except yaml.YAMLError as exc:
        raise InvalidPolicy(f"{where}: not YAML or JSON: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidPolicy(f"{where}: must hold a mapping of policy settings")
    return data
