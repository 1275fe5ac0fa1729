"""Installing and running kubeconform on deploy/kubernetes/, offline.

kubeconform is built from the Go module proxy (`go install`) into `.cache/kubeconform/<version>/`
the first time (about 90 s), the way the `promtool` fixture installs promtool: the `kubeconform`
fixture (conftest.py) never skips, it installs or fails saying how to get it.

Schemas, with no network at run time:
- Kubernetes: the JSON schemas the `kubernetes-validate` package bundles (the `dev` extra), in
  folders `v<version>-local-strict/<kind>-<group>-<version>.json`. Their `$ref`s point at
  `https://kubernetes.io/api/_definitions.json`, which kubeconform would fetch; `local_schemas`
  copies one version's folder under `.cache/` with each reference made relative to the file
  beside it, so kubeconform resolves them from disk.
- KEDA: the `cloudcoil-models-keda` package (the `dev` extra) holds pydantic models generated
  from KEDA's CRDs; `keda_schemas` writes their JSON schemas under `.cache/` in kubeconform's
  `<group>/<kind>_<version>.json` layout, made strict the way kubeconform's `openapi2jsonschema`
  makes CRD schemas strict: an object that lists its properties admits no other.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "deploy" / "kubernetes"
CACHE = ROOT / ".cache"
VERSION = "v0.8.0"
MODULE = "github.com/yannh/kubeconform/cmd/kubeconform"
# The Kubernetes release the manifests are checked against (one of kubernetes-validate's).
KUBERNETES_VERSION = "1.34.0"
MISSING = (
    f"kubeconform {VERSION} is not in .cache/kubeconform/ and could not be built: it needs Go "
    f"(`apt-get install golang` or a Go toolchain on PATH) and the Go module proxy; by hand: "
    f"`GOBIN=$PWD/.cache/kubeconform/{VERSION} go install {MODULE}@{VERSION}`"
)
REMOTE_DEFINITIONS = '"/api/_definitions.json#'


def binary() -> Path:
    return CACHE / "kubeconform" / VERSION / "kubeconform"


def install() -> str | None:
    """Builds kubeconform into the cache (nothing if it is there); the error, or None."""
    target = binary()
    if target.is_file():
        return None
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None
    )
    if go is None:
        return "no `go` command on PATH"
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and moved in whole, so a build cut short never passes for an installed binary.
    with tempfile.TemporaryDirectory(dir=target.parent.parent) as scratch:
        env = {**os.environ, "GOBIN": scratch, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
        if not env.get("HOME"):  # go keeps its module and build caches under $HOME by default
            env |= {"GOPATH": str(CACHE / "go"), "GOCACHE": str(CACHE / "go-build")}
        done = subprocess.run(
            [go, "install", f"{MODULE}@{VERSION}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
            env=env,
        )
        if done.returncode != 0:
            return (done.stdout + done.stderr)[-2000:]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(Path(scratch) / "kubeconform", target)
    return None


def local_schemas(version: str = KUBERNETES_VERSION) -> Path:
    """The strict schemas of Kubernetes `version`, resolvable offline; the folder that holds
    `v<version>-local-strict/`."""
    bundled = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    name = f"v{version}-local-strict"
    out = CACHE / "kubernetes-schemas" / f"kubernetes-validate-{_bundle_version()}"
    if (out / name / "_definitions.json").is_file():
        return out
    source = Path(str(bundled / name))
    if not source.is_dir():
        raise FileNotFoundError(f"kubernetes-validate has no schemas for Kubernetes {version}")
    # Written aside and moved in whole, so a copy cut short is never taken for a complete one.
    scratch = out / f".{name}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for schema in source.glob("*.json"):
        document: dict[str, Any] = json.loads(schema.read_text())
        # Without its https `$id`, a schema's references resolve against its own file.
        document.pop("$id", None)
        text = json.dumps(document).replace(REMOTE_DEFINITIONS, '"_definitions.json#')
        (scratch / schema.name).write_text(text)
    shutil.rmtree(out / name, ignore_errors=True)
    os.replace(scratch, out / name)
    return out


def _bundle_version() -> str:
    from importlib.metadata import version

    return version("kubernetes-validate")


# The KEDA kinds the manifests use, by the module of cloudcoil-models-keda that models them.
KEDA_KINDS = {"ScaledObject": "v1alpha1", "TriggerAuthentication": "v1alpha1"}


def keda_schemas() -> Path:
    """The folder holding `keda.sh/<kind>_<version>.json` for KEDA_KINDS, strict."""
    import importlib
    from importlib.metadata import version

    out = CACHE / "keda-schemas" / f"cloudcoil-models-keda-{version('cloudcoil-models-keda')}"
    if all((out / "keda.sh" / f"{k.lower()}_{v}.json").is_file() for k, v in KEDA_KINDS.items()):
        return out
    scratch = out.with_name(f".{out.name}.{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "keda.sh").mkdir(parents=True)
    for kind, api_version in KEDA_KINDS.items():
        module = importlib.import_module(f"cloudcoil.models.keda.{api_version}")
        schema = getattr(module, kind).model_json_schema(by_alias=True, mode="validation")
        target = scratch / "keda.sh" / f"{kind.lower()}_{api_version}.json"
        target.write_text(json.dumps(strict(schema), indent=1))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(scratch, out)
    return out


def strict(schema: Any) -> Any:
    """`schema` with `additionalProperties: false` on every object that lists its properties
    and says nothing of others, so a misspelt or unknown field is an error."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def schema_locations(kubernetes: Path) -> list[str]:
    """kubeconform's `-schema-location` templates: Kubernetes' kinds, then KEDA's."""
    return [
        f"{kubernetes}/{{{{ .NormalizedKubernetesVersion }}}}-local{{{{ .StrictSuffix }}}}/"
        "{{ .ResourceKind }}{{ .KindSuffix }}.json",
        f"{keda_schemas()}/{{{{ .Group }}}}/"
        "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
    ]


def manifest_files() -> list[Path]:
    """The files kustomization.yaml applies, in its order."""
    import yaml

    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    return [MANIFESTS / name for name in kustomization["resources"]]


def validate(kubeconform: str, kubernetes: Path, files: Iterable[Path]) -> list[dict[str, Any]]:
    """kubeconform's verdict on each resource of `files`: strict, every kind needing a schema
    (a kind without one is an error, never skipped), the JSON output's `resources` list."""
    args = [kubeconform, "-strict", "-summary", "-output", "json", "-verbose"]
    args += ["-kubernetes-version", KUBERNETES_VERSION]
    for location in schema_locations(kubernetes):
        args += ["-schema-location", location]
    done = subprocess.run(
        [*args, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ROOT,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        output = done.stdout + done.stderr
        raise AssertionError(f"kubeconform printed no report:\n{output}") from None
    resources: list[dict[str, Any]] = report.get("resources") or []
    return resources
