"""What can be done to a resource: one typed model per action, shared by every layer.

A discriminated union on ``type``: an unknown type is rejected with the list of valid ones.
The policy holds the action as written; ``resolve`` turns it into the finding's concrete
action for one resource (``resize`` without ``max_cu`` keeps the compute's current maximum,
written out). The same objects travel on through savings, the report, the plan and the
executor, so none of them re-parses a dict. ``as_json`` is the stored and reported form;
``parse_action`` reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from governor.durations import Duration, format_duration
from governor.model.snapshot import ResourceType
from governor.rules.compute import (
    SUSPEND_DEFAULT,
    SUSPEND_MAX_SECONDS,
    SUSPEND_MIN_SECONDS,
    SUSPEND_NEVER,
    is_compute_size,
)
from governor.rules.retention import RETENTION_MAX_SECONDS

MAX_EXPIRY = timedelta(days=30)  # Neon refuses expires_at more than 30 days ahead
MIN_COMPUTE_UNITS = 0.25  # the API's ComputeUnit minimum
MIN_BACKUP_RETENTION = timedelta(hours=1)  # BackupScheduleItem.retention_seconds ≥ 3600
_SUSPEND_MIN_SECONDS, _SUSPEND_MAX_SECONDS = 60, 604800


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    fits: ClassVar[tuple[ResourceType, ...]] = ("project", "branch", "endpoint", "api_key")
    # Changes something in Neon (everything but ``none``).
    mutates: ClassVar[bool] = True
    # Restarts the compute and drops its connections (autoscaling limit changes do).
    disruptive: ClassVar[bool] = False
    # Cannot be undone by the governor (a deleted branch is only recoverable in Neon's
    # console for a while; a revoked key is gone).
    irreversible: ClassVar[bool] = False
    # Removes data or the means to restore it (restore points, snapshots, a project): in a
    # policy with mode auto it still waits for a person unless [remediation]
    # auto_data_protection is on.
    data_protection: ClassVar[bool] = False

    def resolve(self, values: Mapping[str, Any]) -> Self:
        """The concrete action for the resource whose fields are ``values``."""
        _ = values
        return self

    def as_json(self) -> dict[str, Any]:
        """The stored and reported form: plain JSON, parameters after ``type``."""
        return self.model_dump(mode="json")

    def describe(self) -> str:
        """``type (key=value, ...)`` for people."""
        details = ", ".join(
            f"{key}={value}" for key, value in self.as_json().items() if key != "type"
        )
        kind = str(self.as_json()["type"])
        return f"{kind} ({details})" if details else kind


class NoAction(_Action):
    """Only report."""

    type: Literal["none"]
    fits = ("organization", "project", "branch", "endpoint", "api_key", "snapshot")
    mutates = False


class SuspendAction(_Action):
    """Suspend the compute now (it starts again on the next connection)."""

    type: Literal["suspend"]
    fits = ("endpoint",)
    disruptive = True  # open connections drop


class ResizeAction(_Action):
    """Change the compute's autoscaling limits.

    The planner turns what is asked into the cheapest pair Neon accepts
    (``governor.rules.compute.cheapest_target``): a minimum too low for the maximum is raised to
    the lowest valid one, and the maximum is lowered only when the policy asks (``max_cu``) or
    allows it (``lower_max``).
    """

    type: Literal["resize"]
    fits = ("endpoint",)
    disruptive = True
    min_cu: float = Field(ge=MIN_COMPUTE_UNITS, description="New autoscaling minimum, in CU.")
    max_cu: float | None = Field(
        default=None,
        ge=MIN_COMPUTE_UNITS,
        description="New autoscaling maximum, in CU; omit to keep the compute's current one.",
    )
    lower_max: bool = Field(
        default=False,
        description=(
            "May lower the maximum to reach the asked minimum; the plan marks it "
            "reduces peak capacity."
        ),
    )

    @model_validator(mode="after")
    def _ordered(self) -> ResizeAction:
        for name, value in (("min_cu", self.min_cu), ("max_cu", self.max_cu)):
            if value is not None and not is_compute_size(value):
                raise ValueError(
                    f"{name} {value:g} is not a compute size Neon offers: 0.25, 0.5, whole CU "
                    "to 16, even CU to 56"
                )
        if self.max_cu is not None and self.max_cu < self.min_cu:
            raise ValueError(f"max_cu ({self.max_cu:g}) is below min_cu ({self.min_cu:g})")
        return self

    def resolve(self, values: Mapping[str, Any]) -> Self:
        current = values.get("autoscaling_limit_max_cu")
        if self.max_cu is not None:
            return self
        if isinstance(current, int | float) and not isinstance(current, bool):
            return self.model_copy(update={"max_cu": max(float(current), self.min_cu)})
        return self

    def as_json(self) -> dict[str, Any]:
        action: dict[str, Any] = {"type": "resize", "min_cu": self.min_cu}
        if self.max_cu is not None:
            action["max_cu"] = self.max_cu
        if self.lower_max:
            action["lower_max"] = True
        return action


class SetAutosuspendAction(_Action):
    """Set how long the compute stays idle before it suspends."""

    type: Literal["set_autosuspend"]
    fits = ("endpoint",)
    seconds: int = Field(
        description="suspend_timeout_seconds to set: 0 (Neon's default, 300) or 60 to 604800."
    )

    @field_validator("seconds")
    @classmethod
    def _in_range(cls, seconds: int) -> int:
        if seconds != 0 and not _SUSPEND_MIN_SECONDS <= seconds <= _SUSPEND_MAX_SECONDS:
            raise ValueError(
                f"{seconds} is not a valid suspend timeout: use 0 (Neon's default) or "
                f"{_SUSPEND_MIN_SECONDS} to {_SUSPEND_MAX_SECONDS} seconds"
            )
        return seconds


class SetExpiryAction(_Action):
    """Let Neon delete the branch later by setting its expires_at."""

    type: Literal["set_expiry"]
    fits = ("branch",)
    after: Duration = Field(description="How long after the action the branch expires (≤ 30d).")

    @field_validator("after")
    @classmethod
    def _within_limit(cls, after: timedelta) -> timedelta:
        if not timedelta(0) < after <= MAX_EXPIRY:
            raise ValueError(
                f"{format_duration(after)} is out of range: Neon accepts an expiry from just "
                "after now up to 30d ahead"
            )
        return after

    def as_json(self) -> dict[str, Any]:
        return {"type": "set_expiry", "after_seconds": int(self.after.total_seconds())}


class DeleteAction(_Action):
    """Delete the branch (Neon keeps it recoverable for 7 days)."""

    type: Literal["delete"]
    fits = ("branch",)
    disruptive = True  # Neon idles the branch's computes, breaking connections
    irreversible = True


class RevokeAction(_Action):
    """Revoke the API key (irreversible)."""

    type: Literal["revoke"]
    fits = ("api_key",)
    irreversible = True


class SetRetentionAction(_Action):
    """Shorten the project's restore window (``history_retention_seconds``).

    Data protection: restore points older than the new window are gone for good. The
    governor only shortens a window, never lengthens one.
    """

    type: Literal["set_retention"]
    fits = ("project",)
    data_protection = True
    seconds: int = Field(
        ge=0,
        le=RETENTION_MAX_SECONDS,
        description="history_retention_seconds to set: 0 (no instant restore) to 2592000.",
    )


class SetProjectDefaultsAction(_Action):
    """Set the compute settings every new compute of the project inherits.

    Preventive: existing computes keep their settings (Neon applies defaults at creation).
    """

    type: Literal["set_project_defaults"]
    fits = ("project",)
    suspend_timeout_seconds: int | None = Field(
        default=None, description="Default suspend timeout: -1, 0 or 60 to 604800 seconds."
    )
    min_cu: float | None = Field(
        default=None, ge=MIN_COMPUTE_UNITS, description="Default autoscaling minimum, in CU."
    )
    max_cu: float | None = Field(
        default=None, ge=MIN_COMPUTE_UNITS, description="Default autoscaling maximum, in CU."
    )

    @model_validator(mode="after")
    def _valid(self) -> SetProjectDefaultsAction:
        if self.suspend_timeout_seconds is None and self.min_cu is None and self.max_cu is None:
            raise ValueError("set_project_defaults needs suspend_timeout_seconds, min_cu or max_cu")
        for name, value in (("min_cu", self.min_cu), ("max_cu", self.max_cu)):
            if value is not None and not is_compute_size(value):
                raise ValueError(
                    f"{name} {value:g} is not a compute size Neon offers: 0.25, 0.5, whole CU "
                    "to 16, even CU to 56"
                )
        if self.min_cu is not None and self.max_cu is not None and self.max_cu < self.min_cu:
            raise ValueError(f"max_cu ({self.max_cu:g}) is below min_cu ({self.min_cu:g})")
        seconds = self.suspend_timeout_seconds
        if seconds is not None and not (
            seconds in (SUSPEND_NEVER, SUSPEND_DEFAULT)
            or SUSPEND_MIN_SECONDS <= seconds <= SUSPEND_MAX_SECONDS
        ):
            raise ValueError(
                f"{seconds} is not a valid suspend timeout: use -1, 0 or "
                f"{SUSPEND_MIN_SECONDS} to {SUSPEND_MAX_SECONDS} seconds"
            )
        return self

    def as_json(self) -> dict[str, Any]:
        return {
            key: value for key, value in self.model_dump(mode="json").items() if value is not None
        }


class DeleteSnapshotAction(_Action):
    """Delete the snapshot: "deleted snapshots cannot be recovered"."""

    type: Literal["delete_snapshot"]
    fits = ("snapshot",)
    irreversible = True
    data_protection = True


class SetBackupRetentionAction(_Action):
    """Give every item of the branch's backup schedule a retention (none keeps forever)."""

    type: Literal["set_backup_retention"]
    fits = ("branch",)
    data_protection = True  # scheduled snapshots older than the retention go
    retention: Duration = Field(description="How long scheduled snapshots are kept (e.g. 14d).")

    @field_validator("retention")
    @classmethod
    def _positive(cls, retention: timedelta) -> timedelta:
        seconds = retention.total_seconds()
        if retention < MIN_BACKUP_RETENTION or seconds != int(seconds):
            raise ValueError(
                f"{format_duration(retention)} is not a retention Neon accepts: whole seconds, "
                "at least 1h"
            )
        return retention

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "set_backup_retention",
            "retention_seconds": int(self.retention.total_seconds()),
        }


class DeleteProjectAction(_Action):
    """Delete the whole project (Neon can recover it for 7 days: ``revert``)."""

    type: Literal["delete_project"]
    fits = ("project",)
    disruptive = True  # every compute and connection of the project goes
    irreversible = True  # after Neon's 7 days
    data_protection = True


class DeleteEndpointAction(_Action):
    """Delete the compute (a replica shares its branch's storage: no data is lost)."""

    type: Literal["delete_endpoint"]
    fits = ("endpoint",)
    disruptive = True  # its connections drop and its host name stops answering
    irreversible = True  # a new compute gets a new host name


class DisableComputeAction(_Action):
    """Disable the compute: Neon suspends it and refuses new connections."""

    type: Literal["disable_compute"]
    fits = ("endpoint",)
    disruptive = True


Action = Annotated[
    NoAction
    | SuspendAction
    | ResizeAction
    | SetAutosuspendAction
    | SetExpiryAction
    | DeleteAction
    | RevokeAction
    | SetRetentionAction
    | SetProjectDefaultsAction
    | DeleteSnapshotAction
    | SetBackupRetentionAction
    | DeleteProjectAction
    | DeleteEndpointAction
    | DisableComputeAction,
    Field(discriminator="type"),
]
ACTION_TYPES: dict[str, type[_Action]] = {
    "none": NoAction,
    "suspend": SuspendAction,
    "resize": ResizeAction,
    "set_autosuspend": SetAutosuspendAction,
    "set_expiry": SetExpiryAction,
    "delete": DeleteAction,
    "revoke": RevokeAction,
    "set_retention": SetRetentionAction,
    "set_project_defaults": SetProjectDefaultsAction,
    "delete_snapshot": DeleteSnapshotAction,
    "set_backup_retention": SetBackupRetentionAction,
    "delete_project": DeleteProjectAction,
    "delete_endpoint": DeleteEndpointAction,
    "disable_compute": DisableComputeAction,
}

_ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def parse_action(data: Mapping[str, Any]) -> Action:
    """Read an action back from its ``as_json`` form (raises ``ValueError`` when invalid)."""
    fields = dict(data)
    if fields.get("type") == "set_expiry" and "after_seconds" in fields:
        seconds = fields.pop("after_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise ValueError(f"set_expiry after_seconds must be a whole number, got {seconds!r}")
        fields["after"] = timedelta(seconds=seconds)
    if fields.get("type") == "set_backup_retention" and "retention_seconds" in fields:
        seconds = fields.pop("retention_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise ValueError(
                f"set_backup_retention retention_seconds must be a whole number, got {seconds!r}"
            )
        fields["retention"] = timedelta(seconds=seconds)
    return _ACTION_ADAPTER.validate_python(fields, strict=False)
