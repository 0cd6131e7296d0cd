"""Benchmark: the web app under load, against a bare Starlette "hello" app, in one run.

    .venv/bin/python bench/web_load.py [--duration 10] [--connections 50] [--workers 1 2] [--rounds 3]

Starts ``curbside serve`` (SQLite in a temporary data folder, rate limit off) and a bare Starlette
app answering "hello" (uvicorn with the same settings as ``curbside serve``, including its
TCP_NODELAY protocol, and the same worker count) on free loopback ports, then loads
each with ``wrk`` (``apt-get install -y wrk`` when missing; a small asyncio load generator is used
only if wrk cannot be installed):

* ``GET /`` on the hello app: what uvicorn itself can do on this machine;
* ``GET /guides/inner-thigh-cramps``: a guide page (the JSON twin ``/api/v1/guides/...`` when
  the page does not exist);
* ``POST /api/v1/diagnosis`` with a realistic body (a possible DVT, 10 answers).

Each round loads the three targets in turn; with ``--rounds N`` the median round of each target is
reported, which damps the noise of other work on a shared 2-core machine. Prints requests/s, p50
and p99 latency and errors (socket errors and non-2xx answers, summed over all rounds) per target,
and checks the issue's targets: guide page >= 50% of the hello rate, diagnosis >= 300 requests/s,
p99 < 100 ms, no errors. Everything runs on this machine (127.0.0.1) and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
console = Console(width=140)

DIAGNOSIS_BODY = {
    "age": 54,
    "sex": "female",
    "evidence": [
        {"id": "pain_inner_thigh", "choice_id": "present", "source": "initial"},
        {"id": "leg_swelling_one_side", "choice_id": "present", "source": "initial"},
        {"id": "pain_calf", "choice_id": "present", "source": "interview"},
        {"id": "skin_warmth", "choice_id": "present", "source": "interview"},
        {"id": "constant_pain", "choice_id": "present", "source": "interview"},
        {"id": "recent_surgery_or_immobility", "choice_id": "present", "source": "interview"},
        {"id": "hormonal_contraception", "choice_id": "present", "source": "interview"},
        {"id": "breathlessness", "choice_id": "absent", "source": "interview"},
        {"id": "chest_pain", "choice_id": "absent", "source": "interview"},
        {"id": "fever", "choice_id": "absent", "source": "interview"},
    ],
    "questions_asked": 8,
}
GUIDE = "/guides/inner-thigh-cramps"

# The wrk script: optional POST body, and a JSON summary line at the end.
WRK_LUA = """
local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = io.open(body_file, "rb")
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
"""

HELLO_APP = '''
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/", hello)])


if __name__ == "__main__":  # the same uvicorn settings as ``curbside serve``
    import sys

    import uvicorn

    from curbside.web.server import HTTP_PROTOCOL

    uvicorn.run("hello_app:app", app_dir=sys.argv[1], host="127.0.0.1", port=int(sys.argv[2]),
                workers=int(sys.argv[3]), log_level="warning", proxy_headers=False,
                http=HTTP_PROTOCOL)
'''


@dataclass
class Result:
    name: str
    workers: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    note: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start in {timeout:.0f} s")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def server(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_until_up(ready_url)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    console.print("wrk is not installed: apt-get install -y wrk (Debian package) ...")
    if os.geteuid() == 0:
        for step in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"],
                     ["apt-get", "install", "-y", "wrk"]):
            subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if shutil.which("wrk"):
                return shutil.which("wrk")
    console.print("[yellow]wrk could not be installed; using the asyncio load generator[/]")
    return None


def run_wrk(wrk: str, url: str, body: bytes | None, args: argparse.Namespace, tmp: Path) -> Result:
    script = tmp / "bench.lua"
    script.write_text(WRK_LUA)
    env = dict(os.environ)
    env["BENCH_BODY"] = ""
    if body is not None:
        (tmp / "body.json").write_bytes(body)
        env["BENCH_BODY"] = str(tmp / "body.json")
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
               "--timeout", "5s", "-s", str(script), url]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    errors = sum(data[k] for k in ("connect", "read", "write", "timeout", "status"))
    return Result("", 0, data["requests"] / (data["duration_us"] / 1e6), data["p50_us"] / 1000,
                  data["p99_us"] / 1000, errors, data["requests"])


async def _python_load(host: str, port: int, request: bytes, connections: int,
                       duration: float) -> Result:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + duration

    async def one_connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.monotonic() < stop:
                start = time.perf_counter()
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for header in head.split(b"\r\n"):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if not 200 <= status < 300:
                    errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.monotonic() - began
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0

    return Result("", 0, len(latencies) / elapsed, percentile(50), percentile(99), errors,
                  len(latencies))


def run_python(url: str, body: bytes | None, args: argparse.Namespace) -> Result:
    parsed = urllib.parse.urlsplit(url)
    method = "POST" if body is not None else "GET"
    head = (f"{method} {parsed.path} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
            + ("Content-Type: application/json\r\n" if body is not None else "")
            + f"Content-Length: {len(body or b'')}\r\n\r\n").encode()
    return asyncio.run(_python_load(parsed.hostname or "127.0.0.1", parsed.port or 80,
                                    head + (body or b""), args.connections, args.duration))


def load(wrk: str | None, url: str, body: bytes | None, args: argparse.Namespace, tmp: Path) -> Result:
    if wrk is not None:
        return run_wrk(wrk, url, body, args, tmp)
    return run_python(url, body, args)


def measure(workers: int, args: argparse.Namespace, wrk: str | None, tmp: Path) -> list[Result]:
    results: list[Result] = []
    env = dict(os.environ)
    env.update({"CURBSIDE_DATA_DIR": str(tmp / f"data-{workers}"),
                "CURBSIDE_RATE_LIMIT_PER_MINUTE": "0", "PYTHONUNBUFFERED": "1"})
    env.pop("CURBSIDE_DATABASE_URL", None)  # SQLite in the temporary data folder
    (tmp / "hello_app.py").write_text(HELLO_APP)
    hello_port, curbside_port = free_port(), free_port()
    hello_cmd = [sys.executable, str(tmp / "hello_app.py"), str(tmp), str(hello_port), str(workers)]
    curbside_cmd = [str(VENV_BIN / "curbside"), "serve", "--host", "127.0.0.1", "--port",
                    str(curbside_port), "--workers", str(workers)]
    hello = f"http://127.0.0.1:{hello_port}"
    base = f"http://127.0.0.1:{curbside_port}"
    with server(hello_cmd, env, hello + "/", tmp / f"hello-{workers}.log"), \
            server(curbside_cmd, env, base + "/api/v1/health", tmp / f"curbside-{workers}.log"):
        guide, note = GUIDE, ""
        if status_of(base + GUIDE) != 200:
            guide, note = "/api/v1" + GUIDE, "page missing: JSON twin"
        body = json.dumps(DIAGNOSIS_BODY).encode()
        with urllib.request.urlopen(urllib.request.Request(
                base + "/api/v1/diagnosis", data=body,
                headers={"Content-Type": "application/json"})) as response:
            assert response.status == 200, response.status
        targets = (
            ("hello (bare Starlette)", hello + "/", None, ""),
            (f"GET {guide}", base + guide, None, note),
            ("POST /api/v1/diagnosis", base + "/api/v1/diagnosis", body, ""),
        )
        runs: dict[str, list[Result]] = {name: [] for name, *_ in targets}
        for round_ in range(1, args.rounds + 1):
            for name, url, payload, _ in targets:  # interleaved: noise hits every target alike
                console.print(f"  round {round_}/{args.rounds}: {name}, {args.connections} "
                              f"connections, {args.duration} s, workers={workers} ...", highlight=False)
                run = load(wrk, url, payload, args, tmp)
                runs[name].append(run)
                console.print(f"    {run.rate:,.0f} requests/s, p50 {run.p50_ms:.1f} ms, "
                              f"p99 {run.p99_ms:.1f} ms, {run.errors} errors", highlight=False)
        for name, _, _, extra in targets:
            ordered = sorted(runs[name], key=lambda r: r.rate)
            median = ordered[len(ordered) // 2]
            results.append(Result(name, workers, median.rate, median.p50_ms, median.p99_ms,
                                  sum(r.errors for r in ordered), sum(r.requests for r in ordered),
                                  extra))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="Seconds per target.")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="Worker processes to try (each value is a full run).")
    parser.add_argument("--rounds", type=int, default=1,
                        help="Interleaved rounds per target; the median round is reported "
                             "(errors are summed over all rounds).")
    args = parser.parse_args()
    wrk = ensure_wrk()
    tool = "wrk" if wrk else "asyncio generator"
    console.print(f"load generator: {tool}; {os.cpu_count()} CPUs shared by servers and load")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="curbside-bench-") as folder:
        for workers in args.workers:
            results += measure(workers, args, wrk, Path(folder))

    table = Table(title=f"curbside web load ({tool}, {args.connections} connections, "
                        f"{args.duration} s per run, median of {args.rounds} round(s))")
    for column in ("target", "workers", "requests/s", "p50 ms", "p99 ms", "errors", "vs hello",
                   "note"):
        table.add_column(column, justify="left" if column in ("target", "note") else "right")
    verdicts: list[str] = []
    for workers in args.workers:
        rows = [r for r in results if r.workers == workers]
        hello_rate = rows[0].rate
        for row in rows:
            table.add_row(row.name, str(workers), f"{row.rate:,.0f}", f"{row.p50_ms:.1f}",
                          f"{row.p99_ms:.1f}", str(row.errors), f"{row.rate / hello_rate:.0%}", row.note)
        guide, diagnosis = rows[1], rows[2]

        def check(ok: bool, text: str) -> str:
            return f"[{'green' if ok else 'red'}]{'PASS' if ok else 'FAIL'}[/] {text}"

        verdicts += [
            check(guide.rate >= 0.5 * hello_rate,
                  f"workers={workers}: guide {guide.rate / hello_rate:.0%} of hello (>= 50%)"),
            check(diagnosis.rate >= 300,
                  f"workers={workers}: diagnosis {diagnosis.rate:,.0f} req/s (>= 300)"),
            check(all(r.p99_ms < 100 for r in rows[1:]),
                  f"workers={workers}: p99 {max(r.p99_ms for r in rows[1:]):.1f} ms (< 100 ms)"),
            check(all(r.errors == 0 for r in rows),
                  f"workers={workers}: errors {sum(r.errors for r in rows)} (0)"),
        ]
    console.print(table)
    for verdict in verdicts:
        console.print(verdict, highlight=False)


if __name__ == "__main__":
    main()
