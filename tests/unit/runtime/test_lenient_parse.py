"""Consumers accept and ignore fields their contracts do not know (issue 18, point 1): a `.v1`
topic only ever gains optional fields. Producers stay strict; declared fields are still checked."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.envelope import Envelope, make_event
from contracts.events import EVENTS
from services.runtime.messaging import Delivery, PoisonMessage, parse_lenient
from tests.support.event_samples import SAMPLES, TELEMETRY_SAMPLES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(Strict):
    sku: str
    qty: int


class Cold(Strict):
    kind: Literal["cold"]
    temp_c: float


class Foot(Strict):
    kind: Literal["foot"]
    entries: int


class Cash(Strict):
    amount: int


class Card(Strict):
    card: str


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    note: str


class Data(Strict):
    n: int
    item: Item
    items: list[Item]
    reading: Annotated[Cold | Foot, Field(discriminator="kind")]
    paid: Cash | Card
    open: Open | None = None


BASE: dict[str, Any] = {
    "n": 1,
    "item": {"sku": "a", "qty": 1},
    "items": [{"sku": "b", "qty": 2}, {"sku": "c", "qty": 3}],
    "reading": {"kind": "foot", "entries": 4},
    "paid": {"card": "visa"},
}


def _wire(data: dict[str, Any], **attributes: Any) -> bytes:
    event = make_event(
        service="tests",
        event_type="tests.thing.happened",
        version=1,
        subject="s",
        data=Data.model_validate(BASE),
    )
    body = orjson.loads(event.to_json())
    return orjson.dumps(body | {"data": data} | attributes)


def _parse(value: bytes) -> Envelope[Data]:
    return Delivery("t.v1", 0, 0, None, value).envelope(Data)


def _with(path: tuple[Any, ...], extra: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(orjson.dumps(BASE))
    node: Any = data
    for step in path:
        node = node[step]
    node.update(extra)
    return data


EXTRAS = {
    "top of data": (),
    "nested model": ("item",),
    "list item": ("items", 1),
    "discriminated union variant": ("reading",),
    "plain union variant": ("paid",),
}


@pytest.mark.parametrize("path", EXTRAS.values(), ids=EXTRAS.keys())
def test_an_unknown_field_is_ignored_wherever_it_is(path: tuple[Any, ...]) -> None:
    value = _wire(_with(path, {"added_in_a_later_minor": {"any": ["shape"]}}))
    with pytest.raises(ValidationError):  # the producer's strict view
        Envelope[Data].model_validate_json(value)
    event = _parse(value)
    assert event.data == Data.model_validate(BASE)
    assert "added_in_a_later_minor" not in event.model_dump_json()


def test_an_unknown_cloudevents_extension_attribute_is_ignored() -> None:
    event = _parse(_wire(BASE, traceparent="00-abc-def-01", partitionkey="k"))
    assert event.data == Data.model_validate(BASE) and event.subject == "s"


def test_unknown_fields_everywhere_at_once() -> None:
    data = _with((), {"x": 1})
    data["item"]["y"] = 2
    data["items"][0]["z"] = 3
    data["reading"]["w"] = 4
    data["paid"]["v"] = 5
    assert _parse(_wire(data, ext="e")).data == Data.model_validate(BASE)


@pytest.mark.parametrize(
    ("path", "change", "named"),
    [
        ((), {"n": "one"}, "data.n"),
        (("item",), {"qty": "many"}, "data.item.qty"),
        (("items", 1), {"qty": None}, "data.items.1.qty"),
        (("reading",), {"entries": -0.5}, "data.reading.foot.entries"),
        (("reading",), {"kind": "heat"}, "data.reading"),
    ],
)
def test_a_wrong_type_is_still_poison_and_named(
    path: tuple[Any, ...], change: dict[str, Any], named: str
) -> None:
    with pytest.raises(PoisonMessage) as poison:
        _parse(_wire(_with(path, change | {"unknown": 1})))
    assert named in str(poison.value)
    assert "unknown" not in str(poison.value)  # only the real errors are reported


def test_a_missing_required_field_is_still_poison() -> None:
    data = _with((), {})
    del data["item"]["sku"]
    with pytest.raises(PoisonMessage, match=r"data\.item\.sku: Field required"):
        _parse(_wire(data))


def test_a_bad_envelope_is_still_poison() -> None:
    with pytest.raises(PoisonMessage, match="source"):
        _parse(_wire(BASE, source="nowhere", ext=1))


def test_a_model_that_keeps_unknown_fields_still_keeps_them() -> None:
    data = _with((), {"open": {"note": "n", "kept": True}})
    assert _parse(_wire(data)).data.open == Open(note="n", kept=True)


def test_parse_lenient_takes_any_model() -> None:
    assert parse_lenient(Item, b'{"sku": "a", "qty": 1, "new": 0}') == Item(sku="a", qty=1)
    with pytest.raises(PoisonMessage, match="qty"):
        parse_lenient(Item, b'{"sku": "a", "qty": "x", "new": 0}')


SPECS = {spec.type: spec for spec in EVENTS}
SAMPLED = {**SAMPLES, **TELEMETRY_SAMPLES}


def _add_everywhere(node: Any) -> Any:
    """The sample with an unknown field in every object at any depth."""
    if isinstance(node, dict):
        return {k: _add_everywhere(v) for k, v in node.items()} | {"from_the_future": 1}
    if isinstance(node, list):
        return [_add_everywhere(v) for v in node]
    return node


@pytest.mark.parametrize("event_type", sorted(SAMPLED))
def test_every_sampled_contract_event_with_unknown_fields_parses_as_without(
    event_type: str,
) -> None:
    spec = SPECS[event_type]
    data = SAMPLED[event_type]
    if not isinstance(data, BaseModel):
        data = spec.data.model_validate(data)
    event = make_event(
        service="tests", event_type=event_type, version=spec.version, subject="s", data=data
    )
    grown = _add_everywhere(orjson.loads(event.to_json()))
    parsed = Delivery("t.v1", 0, 0, None, orjson.dumps(grown)).envelope(spec.data, spec.envelope)
    dumped = parsed.model_dump(mode="json")
    assert "from_the_future" not in dumped and "from_the_future" not in dumped["data"]
    # Free-form maps (`dict[str, Any]`, e.g. a risk's thresholds) keep what they carry.
    assert _without_added(dumped) == orjson.loads(event.to_json())


def _without_added(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_added(v) for k, v in node.items() if k != "from_the_future"}
    if isinstance(node, list):
        return [_without_added(v) for v in node]
    return node
