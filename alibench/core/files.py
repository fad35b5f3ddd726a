"""File writes that never leave a half-written file behind."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import UserError

TEMP_SUFFIX = ".tmp"
# No space left, a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored), a quota.
NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class NoSpace(UserError):
    """A write failed for want of space; the file it was writing is as it was before."""


def _no_space(path: Path, exc: OSError) -> NoSpace:
    return NoSpace(f"cannot write {path}: {exc.strerror} (disk full or file-size limit); "
                   "the file is unchanged")


class CorruptFile(ValueError):
    """A file that was written whole is no longer readable (not a torn append)."""


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    """Write through ``write(fileobj)`` into a temporary file beside ``path``,
    fsync it, then rename it over ``path`` (atomic on POSIX): readers see the
    old file or the new one, never a torn one, whatever kills the writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            raise _no_space(path, exc) from exc
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (it lives in the directory entry)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete temporary files that a killed writer left behind in ``folder``."""
    stale = [p for p in Path(folder).glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def append_jsonl(path: Path, record: dict) -> None:
    """Append one whole line with a single write and fsync it.

    A line torn by a crash (no final newline) is cut off first, so that the new
    record never gets glued onto half of an old one."""
    data = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _drop_torn_tail(fd)
        size = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(data):  # one write for any line shorter than a pipe buffer
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError as exc:
            if exc.errno not in NO_SPACE:
                raise
            os.ftruncate(fd, size)      # no half line left behind
            raise _no_space(path, exc) from exc
    finally:
        os.close(fd)


def _drop_torn_tail(fd: int) -> None:
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    start = max(0, size - 65536)
    tail = os.pread(fd, size - start, start)
    cut = tail.rfind(b"\n")
    os.ftruncate(fd, start + cut + 1 if cut >= 0 else (0 if start == 0 else size))


def read_jsonl(path: Path) -> list[dict]:
    """Records of a JSON-lines file. A torn last line (a crash mid-append) is
    skipped; an unreadable line that was written whole raises CorruptFile."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if i == len(lines) - 1:   # no newline after it: the write was cut short
                continue
            raise CorruptFile(f"{path}, line {i + 1}: not JSON ({exc.msg})") from exc
    return out
