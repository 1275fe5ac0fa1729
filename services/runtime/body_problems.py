"""A request body with several problems, answered in one 422.

A body that breaks its model stops at pydantic, so the use case's own checks (an unknown market,
a licence already expired) would be told only on the next try, and a form would take two. A route
takes `Sent[Model]` instead of `Model`: the body when it fits, an `Unfit` when not (pydantic's
errors and the fields that did fit); `fitted` then runs the use case's check on the fields that
fit and raises every problem as one `RequestValidationError`, which services/runtime/errors.py
shapes as it shapes any 422. The API document shows the model as ever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from services.runtime.errors import InvalidInput, ServiceError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Unfit:
    """A request body that broke its model: pydantic's errors, and the fields sent that did fit,
    validated as the model validates them."""

    errors: list[Any]
    fitting: dict[str, Any]


def _fitting(model: type[BaseModel], sent: Any, errors: list[Any]) -> dict[str, Any]:
    if not isinstance(sent, dict) or any(not e["loc"] for e in errors):
        return {}  # not an object at all: nothing fits
    failed = {e["loc"][0] for e in errors}
    draft, fitting = model.model_construct(), {}
    for name, value in sent.items():
        if name in model.model_fields and name not in failed:
            try:
                model.__pydantic_validator__.validate_assignment(draft, name, value)
            except ValidationError:
                continue
            fitting[name] = getattr(draft, name)
    return fitting


def _keeping_unfit(model: type[BaseModel]) -> WrapValidator:
    def keep(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            errors = list(exc.errors())
            return Unfit(errors, _fitting(model, value, errors))

    return WrapValidator(keep)


if TYPE_CHECKING:
    Sent: TypeAlias = M | Unfit
else:

    class Sent:
        """`Sent[Model]`: a body parameter that is the model when the body fits it and an
        `Unfit` when not, so that the route can name the use case's problems with pydantic's
        (`fitted`); the API document shows the model as ever."""

        def __class_getitem__(cls, model: type[BaseModel]) -> Any:
            return Annotated[model, _keeping_unfit(model)]


async def fitted(body: M | Unfit, check: Callable[[dict[str, Any]], Awaitable[object]]) -> M:
    """The body, when it fits its model. When it does not, one 422 naming every problem: the
    model's, and those the use case's `check` finds among the fields that fit (so a form is not
    told of a second problem only on its next try). What else `check` would refuse (403, a
    taken stall's 409) is answered once the fields are right. The 422 is the runtime's own
    (services/runtime/errors.py), so one problem answers as it always did."""
    if not isinstance(body, Unfit):
        return body
    errors = [{**e, "loc": ("body", *e["loc"])} for e in body.errors]
    failed = {e["loc"][0] for e in body.errors if e["loc"]}
    try:
        await check(body.fitting)
    except InvalidInput as exc:
        errors += [
            {"type": "value_error", "loc": ("body", e["field"]), "msg": e["reason"]}
            for e in exc.errors
            if e["field"].split(".")[0] not in failed
        ]
    except ServiceError:
        pass
    raise RequestValidationError(errors)
