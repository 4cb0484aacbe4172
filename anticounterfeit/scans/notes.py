"""Notes for a verdict's explanation from other packages, through registered sources.

A source (the channel's: where the unit was shipped and sold) looks at a scan's result and
returns notes, each a message key of ``anticounterfeit.messages`` and the facts that fill it. The
verdict itself is never changed here. Sources are registered by ``create_app`` (a lower package
learns what upper ones know through registrations, not imports); each must cost the plain scan
nothing (no round trip unless the code's batch concerns it, decided from an in-process cache),
and a source that fails is logged and skipped: a note is never worth a failed scan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anticounterfeit.scans.record import ScanResult

Note = tuple[str, dict[str, Any]]
NoteSource = Callable[["ScanResult"], list[Note]]

_sources: dict[str, NoteSource] = {}
log = logging.getLogger(__name__)


def register_note_source(name: str, source: NoteSource) -> None:
    """Add (or replace) a source of notes for verdict explanations."""
    _sources[name] = source


def notes_for(result: ScanResult) -> list[Note]:
    """Every registered source's notes for ``result``, in registration order."""
    notes: list[Note] = []
    for name, source in _sources.items():
        try:
            notes += source(result)
        except Exception:  # a note is an extra: the scan stands without it
            log.exception("verdict note source %s failed", name)
    return notes
