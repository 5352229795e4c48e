"""The automatic OPTIONS answer's `Allow` names every method of its path.

Litestar 2 makes a path's OPTIONS handler when the first handler for that path is registered and binds it to
that first route, so methods registered later on the same path were left out: `OPTIONS /api/datasets` answered
`Allow: OPTIONS, POST` although GET is there too (litestar#4169, fixed only in Litestar 3)."""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def allow_every_method(app: Litestar) -> Litestar:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler = route.route_handler_map["OPTIONS"][0]
        # The generated handler reads `methods` of the route it closed over; give that route the final set.
        for cell in getattr(handler.fn, "__closure__", None) or ():
            bound = cell.cell_contents
            if isinstance(bound, HTTPRoute) and bound is not route:
                bound.methods = set(route.methods)
    return app
