"""A run-private spool: each swept project's bulk leaves memory as soon as it is read.

Why: at 10,000 projects / 100,000 branches the branches, computes and their detail were
most of an audit's peak memory, all held until the store had written. With a spool the
sweep keeps each project's list item and counts; its branches, computes, snapshots, backup
schedules, activations and branch annotations go to an unnamed temporary file (pickled:
this process writes it and reads it back, nothing else sees it; deleted on close, and by
the OS if the process dies). The pipeline reads projects back a batch at a time, in the
order the sweep listed them (``governor.pipeline.stream``).
"""

from __future__ import annotations

import pickle
import tempfile
from typing import IO, Any

from governor.neon.models import Branch, Endpoint, ProjectSnapshot

# What one project's bulk is, as the spool hands it back.
Bulk = tuple[
    list[Branch],
    list[Endpoint],
    list[ProjectSnapshot],
    dict[str, dict[str, Any]],  # backup schedules by branch id
    dict[str, int],  # activations by endpoint id
    dict[str, dict[str, str]],  # branch annotations by branch id
]
EMPTY: Bulk = ([], [], [], {}, {}, {})


class ProjectSpool:
    """Append-only: ``put`` returns where a project's bulk went; ``get`` reads it back."""

    def __init__(self) -> None:
        # closed by ``close`` (the pipeline's ``finally``), not a with-block: it outlives
        # the sweep that fills it
        self._file: IO[bytes] | None = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="neon-governor-spool-"
        )
        self._end = 0
        self.projects = 0

    def put(self, bulk: Bulk) -> tuple[int, int]:
        """Write ``bulk``; returns (offset, length) for ``get``."""
        if self._file is None:
            raise ValueError("the spool is closed")
        data = pickle.dumps(bulk, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._end)
        self._file.write(data)
        where = (self._end, len(data))
        self._end += len(data)
        self.projects += 1
        return where

    def get(self, where: tuple[int, int] | None) -> Bulk:
        """The bulk written at ``where`` (None: the project had none spooled)."""
        if where is None:
            return EMPTY
        if self._file is None:
            raise ValueError("the spool is closed")
        offset, length = where
        self._file.seek(offset)
        data = self._file.read(length)
        bulk: Bulk = pickle.loads(data)  # written by this process, above
        return bulk

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ProjectSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
