"""Writing identity-level exports: new files only, readable by their owner only (0600).

The regional forms and a person's transfer record hold personal data by design. They are
created with mode 0600 from the first byte (``O_CREAT | O_EXCL``: an existing file, or a
symbolic link planted in its place, is never written through), written in one go without any
temporary file, and flushed to disk.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["ExportExists", "write_private"]


class ExportExists(FileExistsError):
    """The export file already exists; nothing was written."""

    exit_code = 2


def write_private(path: Path, data: bytes) -> str:
    """Create ``path`` (0600) holding ``data``; return the SHA-256 of ``data`` in hex."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
    except FileExistsError:
        raise ExportExists(f"{path} already exists; move it away or choose another name "
                           "(exports never overwrite a file)") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return hashlib.sha256(data).hexdigest()
