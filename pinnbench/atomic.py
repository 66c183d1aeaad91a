"""Files that are either wholly old or wholly new: the one way pinnbench writes what others read."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[str], None], *, suffix: str = ".tmp") -> Path:
    """Call ``write(tmp)`` on a hidden temporary beside ``path``, then rename it into place.

    A reader sees the old file or the new one, never half of one (another process may read
    results while a run writes them). A writer killed midway leaves only ``.<stem>.*<suffix>``
    beside the target, which ``run.store.remove_temporaries`` clears for run files; an
    exception removes it. ``suffix`` is for writers that insist on one (``np.savez`` appends
    ``.npz`` to a name without it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
