"""GET /static/{name}: the dashboard's stylesheet and the JavaScript it runs, served from the
npm packages that `scripts/bootstrap.sh` installs: no CDN at run time."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from chain.config import NODE_MODULES
from service.errors import AssetMissing, AssetNotFound

router = APIRouter(tags=["dashboard"], include_in_schema=False)

ASSETS: dict[str, Path] = {
    "dashboard.css": Path(__file__).parents[1] / "static" / "dashboard.css",
    "htmx.min.js": NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "vega.min.js": NODE_MODULES / "vega" / "build" / "vega.min.js",
    "vega-lite.min.js": NODE_MODULES / "vega-lite" / "build" / "vega-lite.min.js",
    "vega-embed.min.js": NODE_MODULES / "vega-embed" / "build" / "vega-embed.min.js",
}
# A day: the files change only with package-lock.json, and a page loads four of them.
CACHE_CONTROL = "public, max-age=86400"


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise AssetNotFound(f"no asset {name!r}", field="name")
    if not path.is_file():
        raise AssetMissing(f"{path} is missing: run scripts/bootstrap.sh (npm ci)",
                           field="name")
    return FileResponse(path, headers={"cache-control": CACHE_CONTROL})
