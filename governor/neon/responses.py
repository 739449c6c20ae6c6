"""What the client hands back: checked views of a JSON answer, mutations, project pages.

Why apart from the client: every check of a response's shape lives here, so an answer
that is not what the spec promises becomes a ``NeonProtocolError`` naming the field, the
status and the request id, never a ``KeyError`` deep in a caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import ValidationError

from governor.neon.errors import NeonProtocolError
from governor.neon.models import NeonObject, Operation, Project

ModelT = TypeVar("ModelT", bound=NeonObject)


@dataclass(frozen=True)
class ApiResponse:
    """A successful answer, with what an error about its content must name."""

    status: int
    data: Any  # decoded JSON; None for 204 or an empty body
    method: str
    path: str
    request_id: str

    def protocol_error(self, problem: str) -> NeonProtocolError:
        return NeonProtocolError(
            self.status, problem, request_id=self.request_id, method=self.method, path=self.path
        )

    def object(self) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise self.protocol_error(f"expected a JSON object, got {_kind(self.data)}")
        return self.data

    def array(self) -> list[Any]:
        if not isinstance(self.data, list):
            raise self.protocol_error(f"expected a JSON array, got {_kind(self.data)}")
        return self.data

    def field_array(self, name: str) -> list[Any]:
        body = self.object()
        value = body.get(name)
        if not isinstance(value, list):
            problem = "is missing" if name not in body else f"is {_kind(value)}, not an array"
            raise self.protocol_error(f"required field '{name}' {problem}")
        return value

    def field_object(self, name: str) -> dict[str, Any]:
        body = self.object()
        value = body.get(name)
        if not isinstance(value, dict):
            problem = "is missing" if name not in body else f"is {_kind(value)}, not an object"
            raise self.protocol_error(f"required field '{name}' {problem}")
        return value

    def model(self, model: type[ModelT], data: Any, where: str) -> ModelT:
        if not isinstance(data, dict):
            raise self.protocol_error(f"{where}: expected an object, got {_kind(data)}")
        try:
            return model.from_api(data)
        except ValidationError as error:
            problem = error.errors()[0]
            location = ".".join(str(part) for part in problem["loc"]) or "(object)"
            raise self.protocol_error(
                f"{where}: {location}: {problem['msg']} ({error.error_count()} problem(s))"
            ) from None

    def models(self, model: type[ModelT], items: list[Any], where: str) -> list[ModelT]:
        return [self.model(model, item, f"{where}[{index}]") for index, item in enumerate(items)]


ResourceT = TypeVar("ResourceT")


@dataclass(frozen=True)
class Mutation(Generic[ResourceT]):
    """What a mutation returned: the object (None on 204, already gone) and its operations."""

    resource: ResourceT | None
    operations: list[Operation] = field(default_factory=list)
    status: int = 200

    @property
    def already_gone(self) -> bool:
        return self.status == 204


@dataclass(frozen=True)
class ProjectsPage:
    projects: list[Project]
    # Known to exist, details not fetched in time: unknown, never gone.
    unavailable_project_ids: list[str]


def mutation_of(
    response: ApiResponse, model: type[ModelT], name: Literal["branch", "endpoint"]
) -> Mutation[ModelT]:
    if response.data is None:
        return Mutation(None, [], response.status)
    resource = response.model(model, response.field_object(name), name)
    operations = response.models(Operation, response.field_array("operations"), "operations")
    return Mutation(resource, operations, response.status)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
