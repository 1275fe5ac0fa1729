"""The official AsyncAPI parser (@asyncapi/parser 3, npm) accepts contracts/asyncapi.yaml.

The parser runs under Node from tools/asyncapi-validate (pinned by its package-lock.json; `make
setup` installs it). If its node_modules are missing or not the locked version, this module runs
`npm ci` itself: the test never skips, since AsyncAPI Studio and the generator use this parser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import generate

ROOT = generate.CONTRACTS_DIR.parent
TOOL = ROOT / "tools" / "asyncapi-validate"
PARSER = "@asyncapi/parser"

Validate = Callable[[Path], tuple[int, dict[str, Any]]]


def _locked_version() -> str:
    lock = json.loads((TOOL / "package-lock.json").read_text(encoding="utf-8"))
    version: str = lock["packages"][f"node_modules/{PARSER}"]["version"]
    return version


def _installed_version() -> str | None:
    manifest = TOOL / "node_modules" / PARSER / "package.json"
    if not manifest.is_file():
        return None
    version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return version


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} (Node 20) is needed to run the official AsyncAPI parser")
    return found


@pytest.fixture(scope="module")
def validate() -> Validate:
    node = _tool("node")
    if _installed_version() != _locked_version():
        subprocess.run(
            [_tool("npm"), "ci", "--prefix", str(TOOL), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
        )
    assert _installed_version() == _locked_version()
    assert _locked_version().startswith("3.")

    def run(document: Path) -> tuple[int, dict[str, Any]]:
        result = subprocess.run(
            [node, str(TOOL / "validate.mjs"), str(document), "--json"],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        report: dict[str, Any] = json.loads(result.stdout)
        return result.returncode, report

    return run


def test_the_official_parser_accepts_the_committed_document(validate: Validate) -> None:
    returncode, report = validate(generate.CONTRACTS_DIR / generate.ASYNCAPI_FILE)
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert errors == [], json.dumps(errors, indent=2, ensure_ascii=False)
    assert report["errors"] == 0
    assert returncode == 0
    # Warnings do not fail the check; they are counted so a new one is noticed in review.
    assert report["warnings"] == 0, json.dumps(report["diagnostics"], indent=2)


def test_the_parser_rejects_a_payload_it_cannot_read(validate: Validate, tmp_path: Path) -> None:
    # The shape this document had before: a bare 2020-12 schema file with pydantic's object
    # `discriminator` as a payload. Proves the check above has teeth.
    document = yaml.safe_load((generate.CONTRACTS_DIR / generate.ASYNCAPI_FILE).read_text())
    reading = "telemetry.reading.v1.json"
    message = document["components"]["messages"]["telemetry.reading.v1"]
    message["payload"] = {"$ref": f"./schemas/{reading}"}
    (tmp_path / "schemas").mkdir()
    shutil.copy(generate.CONTRACTS_DIR / "schemas" / reading, tmp_path / "schemas" / reading)
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(generate.dump_yaml(document), encoding="utf-8")

    returncode, report = validate(broken)

    assert returncode == 1
    assert report["errors"] >= 1
    messages = " ".join(d["message"] for d in report["diagnostics"] if d["severity"] == "error")
    assert "discriminator" in messages
