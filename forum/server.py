"""How forum is served: uvicorn with the live room's websocket settings, and a garbage collector
tuned for a process that holds thousands of open connections.

``forum serve`` and the benchmarks both start here, so what is measured is what is run.
"""

from __future__ import annotations

import gc
from typing import Any

# Python's collector looks at young objects every 700 allocations and, now and then, at all of
# them. With 2,000 tablets connected the process holds some 400,000 objects, and a full look
# holds every request for 100-170 ms; it came in the middle of a hall's ballots often enough to
# set their p99. Young collections every 10,000 allocations promote far fewer objects of
# requests still in flight, so full collections come much more rarely (``forum bench vote``).
YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Call once the app is built: what exists then (modules, classes, templates) lives as long as
    the process, so it is frozen out of every later collection."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def serve(app: Any, host: str, port: int, *, log_level: str = "info", **options: Any) -> None:
    import uvicorn

    tune_gc()
    # No permessage-deflate: the live room's fragments are small, and a zlib context per tablet
    # costs ~100 KB of memory and a compression per tablet per push (see ``forum bench live``).
    uvicorn.run(app, host=host, port=port, ws="websockets-sansio", log_level=log_level,
                ws_per_message_deflate=False, **options)
