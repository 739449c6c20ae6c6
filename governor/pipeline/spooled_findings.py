"""A streamed run's findings, kept on disk and read back one at a time.

Why: a stored finding is about 2 KB in memory (its estimate's words alone are about 600
bytes, its evidence a decoded dict), and a 10,000-project account has about 80,000 of them:
held as a list for the report they were the largest part of a streamed audit's peak. Here
each goes to an unnamed temporary file (pickled: this process writes and reads it, nothing
else does) as it is stored; ``len`` is known, and reading them (the report, the exit
code, the notifier) decodes one at a time. The file goes when the object does.
"""

from __future__ import annotations

import pickle
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, overload

from governor.store import StoredFinding

_READ_CHUNK = 1 << 20


class SpooledFindings(Sequence[StoredFinding]):
    """An append-only sequence of stored findings on disk, in the order appended."""

    def __init__(self) -> None:
        # closed by ``close`` or when collected, not a with-block: it outlives the run
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="neon-governor-findings-"
        )
        self._offsets = array("q", [0])  # item i is bytes [offsets[i], offsets[i + 1])
        self._lock = threading.Lock()  # a reader in a worker thread, one on the loop

    def extend(self, findings: Iterable[StoredFinding]) -> None:
        data = bytearray()
        ends: list[int] = []
        end = self._offsets[-1]
        for finding in findings:
            encoded = pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL)
            data += encoded
            end += len(encoded)
            ends.append(end)
        with self._lock:
            self._file.seek(self._offsets[-1])
            self._file.write(data)
            self._offsets.extend(ends)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> StoredFinding: ...
    @overload
    def __getitem__(self, index: slice) -> list[StoredFinding]: ...
    def __getitem__(self, index: int | slice) -> StoredFinding | list[StoredFinding]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("finding index out of range")
        start, end = self._offsets[index], self._offsets[index + 1]
        with self._lock:
            self._file.seek(start)
            data = self._file.read(end - start)
        finding: StoredFinding = pickle.loads(data)  # written by this process, above
        return finding

    def __iter__(self) -> Iterator[StoredFinding]:
        """One read per megabyte, each finding decoded as it is reached."""
        count = len(self)
        position = 0
        while position < count:
            start = self._offsets[position]
            last = position
            while last < count and self._offsets[last + 1] - start <= _READ_CHUNK:
                last += 1
            last = max(last, position + 1)  # one finding larger than a chunk
            with self._lock:
                self._file.seek(start)
                data = self._file.read(self._offsets[last] - start)
            view = memoryview(data)
            for item in range(position, last):
                begin = self._offsets[item] - start
                yield pickle.loads(view[begin : self._offsets[item + 1] - start])
            position = last

    def close(self) -> None:
        self._file.close()

    def __repr__(self) -> str:  # asyncio.run and dataclass reprs: never the contents
        return f"<{len(self)} findings on disk>"


def as_list(findings: Sequence[StoredFinding]) -> list[StoredFinding]:
    """A list of ``findings`` (decoded all at once: only where all are needed together)."""
    return findings if isinstance(findings, list) else list(findings)
