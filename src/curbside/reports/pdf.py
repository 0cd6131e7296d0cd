"""The report as PDF: WeasyPrint renders the report's HTML with its print stylesheet.

WeasyPrint fetches every URL a document names (stylesheets, images, fonts) through a URL fetcher.
Ours serves only curbside's own files: the report stylesheets (``reports/templates/*.css``) and
the web app's static files (``web/static/*``), under an internal base URL on the ``.invalid``
domain (RFC 6761: it never resolves). Everything else, http(s), file:, data: and any other
scheme, is refused without touching the network or the disk. The template escapes the person's
free text so it cannot name a URL in the first place; the fetcher is the second wall.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

# WeasyPrint ships no type hints.
from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

from curbside.reports.html import TEMPLATES, render_html
from curbside.reports.model import HealthReport

log = logging.getLogger("curbside.reports")

BASE_URL = "https://report.curbside.invalid/"
WEB_STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
#: URL prefix -> (directory, allowed file-name pattern).
ALLOWED: dict[str, tuple[Path, re.Pattern[str]]] = {
    BASE_URL + "report/": (TEMPLATES, re.compile(r"^[a-z0-9-]+\.css$")),
    BASE_URL + "static/": (WEB_STATIC, re.compile(r"^[A-Za-z0-9_-]+\.(?:css|svg|png|woff2?)$")),
}
LOGO_URL = BASE_URL + "static/favicon.svg"


class FetchRefused(ValueError):
    """A URL outside curbside's own files: WeasyPrint skips the resource and goes on."""


class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Serves our static files from disk by name; refuses every other URL, and records it."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def local_path(self, url: str) -> Path | None:
        for prefix, (directory, pattern) in ALLOWED.items():
            if url.startswith(prefix):
                name = url[len(prefix):]
                if pattern.fullmatch(name):
                    path = directory / name
                    if path.is_file():
                        return path
        return None

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        path = self.local_path(url)
        if path is None:
            with self._lock:
                self.refused.append(url)
            log.warning("report PDF: refused to fetch %.200s", url)
            raise FetchRefused(f"not one of curbside's static files: {url[:200]}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    """Parsed once per process: the stylesheet does not change, and parsing it is a good part of
    a small report's rendering time."""
    return CSS(url=BASE_URL + "report/report.css", url_fetcher=StaticOnlyFetcher(),
               font_config=_fonts())


#: WeasyPrint makes no thread-safety promise, and the parsed stylesheet and font configuration
#: are shared: one PDF at a time per process (a web worker's threads queue here).
_RENDER_LOCK = threading.Lock()


def render_pdf(report: HealthReport, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    html = render_html(report, "pdf", logo_src=LOGO_URL)
    with _RENDER_LOCK:
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher or StaticOnlyFetcher(),
                        media_type="print")
        pdf: bytes = document.write_pdf(stylesheets=[_stylesheet()], font_config=_fonts())
    return pdf
