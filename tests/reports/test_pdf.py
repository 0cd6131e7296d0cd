"""The PDF: it opens (poppler renders every page), carries the disclaimer on every page, and its
URL fetcher serves our static files only: user text cannot make it fetch anything."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from weasyprint import HTML

from curbside.reports.model import HealthReport
from curbside.reports.pdf import BASE_URL, FetchRefused, StaticOnlyFetcher, render_pdf
from tests.reports.conftest import ReportOf


class CountingServer:
    """A real HTTP server on loopback that counts every request it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b"body { color: red }"
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as running:
        yield running


def pages_text(pdf: Path) -> list[str]:
    count = page_count(pdf)
    return [subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
                           check=True, capture_output=True, text=True).stdout
            for i in range(1, count + 1)]


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture(scope="module")
def hernia_pdf(hernia_report: HealthReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(render_pdf(hernia_report))
    return path


def test_poppler_renders_every_page(hernia_pdf: Path, tmp_path: Path) -> None:
    assert hernia_pdf.read_bytes().startswith(b"%PDF-")
    count = page_count(hernia_pdf)
    assert 1 <= count <= 8
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(hernia_pdf), str(tmp_path / "page")],
                   check=True, capture_output=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == count
    assert all(image.stat().st_size > 2000 for image in images)


def test_every_page_has_the_disclaimer_and_its_number(hernia_pdf: Path,
                                                      hernia_report: HealthReport) -> None:
    texts = pages_text(hernia_pdf)
    for number, text in enumerate(texts, 1):
        flat = " ".join(text.split())
        assert "This is information, not a diagnosis." in flat, number
        assert f"Page {number} of {len(texts)}" in flat
    first = " ".join(texts[0].split())
    assert hernia_report.triage.headline in first and "HOW URGENTLY TO GET HELP" in first
    everything = " ".join(" ".join(texts).split())
    assert hernia_report.causes[0].name in everything
    assert hernia_report.sources[-1].title[:40] in everything


def test_user_text_cannot_make_the_pdf_fetch_anything(report_of: ReportOf,
                                                      server: CountingServer) -> None:
    complaint = (f'pain in my groin <img src="http://127.0.0.1:{server.port}/x"> '
                 f'<link rel="stylesheet" href="http://127.0.0.1:{server.port}/style.css"> '
                 '<img src="file:///etc/passwd">')
    report = report_of(30, "male", complaint)
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf(report, fetcher)
    assert pdf.startswith(b"%PDF-")
    assert server.hits == []
    assert not any(str(server.port) in url or url.startswith("file:") for url in fetcher.refused)


def test_the_fetcher_is_a_wall_even_for_raw_markup(server: CountingServer) -> None:
    # Escaping keeps user text out of the markup; this shows the fetcher holds if it ever did not.
    raw = (f'<link rel="stylesheet" href="http://127.0.0.1:{server.port}/a.css">'
           f'<img src="http://127.0.0.1:{server.port}/x"><img src="file:///etc/passwd">'
           '<img src="data:image/svg+xml;base64,PHN2Zy8+"><img src="ftp://127.0.0.1/y">'
           f'<img src="{BASE_URL}static/../../../../etc/passwd">'
           f'<img src="{BASE_URL}static/favicon.svg"><p>hello</p>')
    fetcher = StaticOnlyFetcher()
    HTML(string=raw, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
    assert server.hits == []
    refused = " ".join(fetcher.refused)
    for url in (f"127.0.0.1:{server.port}/a.css", f"127.0.0.1:{server.port}/x", "file:///etc/passwd",
                "data:image/svg+xml", "ftp://", "etc/passwd"):
        assert url in refused, url
    assert f"{BASE_URL}static/favicon.svg" not in fetcher.refused


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "http://127.0.0.1/x", "https://example.org/a.css",
    "data:text/css,body{}", f"{BASE_URL}static/../report/report.css", f"{BASE_URL}static/nope.css",
    f"{BASE_URL}report/report.html", f"{BASE_URL}report/../../pdf.py", "curbside:report.css",
])
def test_the_fetcher_refuses(url: str) -> None:
    fetcher = StaticOnlyFetcher()
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_fetcher_serves_our_static_files() -> None:
    fetcher = StaticOnlyFetcher()
    css = fetcher.fetch(f"{BASE_URL}report/report.css")
    assert b"@page" in css.read() and css.headers["Content-Type"] == "text/css"
    logo = fetcher.fetch(f"{BASE_URL}static/favicon.svg")
    assert b"<svg" in logo.read()
    assert fetcher.refused == []


@pytest.fixture(scope="module")
def reviewed_pdf(reviewed_hernia: HealthReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "reviewed.pdf"
    path.write_bytes(render_pdf(reviewed_hernia))
    return path


def test_the_reviewed_pdf_carries_the_opinion(reviewed_pdf: Path, reviewed_hernia: HealthReport,
                                              tmp_path: Path) -> None:
    review = reviewed_hernia.review
    assert review is not None and review.content_hash is not None
    texts = pages_text(reviewed_pdf)
    for number, text in enumerate(texts, 1):
        assert "This is information, not a diagnosis." in " ".join(text.split()), number
    everything = " ".join(" ".join(texts).split())
    for text in ("Doctor's review", "The reviewing doctor agrees.", "The reviewing doctor disagrees.",
                 "The reviewing doctor is not sure.", review.own_assessment.strip(),
                 review.recommendations[0], review.answers[0].answer, review.followups[0].answer or "",
                 "SIGNED OPINION", "General Medical Council, number 7654321",
                 "This opinion is information, not a diagnosis."):
        assert text in everything, text
    # the 64-character hash may wrap: compare without spaces
    assert review.content_hash in everything.replace(" ", "")
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(reviewed_pdf), str(tmp_path / "page")],
                   check=True, capture_output=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(texts) and all(image.stat().st_size > 2000 for image in images)


def test_a_review_text_cannot_make_the_pdf_fetch_anything(hernia_report: HealthReport,
                                                          server: CountingServer) -> None:
    from tests.reports.conftest import sample_case, sample_review

    hostile = (f'<img src="http://127.0.0.1:{server.port}/review.png"> '
               f'<link rel="stylesheet" href="http://127.0.0.1:{server.port}/r.css">')
    report = hernia_report.model_copy(update={"review": sample_review(hernia_report, hostile=hostile),
                                              "second_opinion": sample_case()})
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf(report, fetcher)
    assert pdf.startswith(b"%PDF-")
    assert server.hits == [] and not any(str(server.port) in url for url in fetcher.refused)
