"""`SpooledFiles` on local disk: a job's spooled uploads, and the checked copies a killed attempt left."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adapters.frames.checked import checked_copies


class LocalSpooledFiles:
    def discard(self, paths: Sequence[str]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)
            # A checked copy left by an attempt whose worker was killed before it could clean up.
            for copy in checked_copies(path):
                copy.unlink(missing_ok=True)
