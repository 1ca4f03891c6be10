"""A small load generator: a fixed number of HTTP/1.1 requests at a fixed concurrency,
with the standard library only (asyncio streams), so the load process stays light on a
2-core machine it shares with the server.

Run as its own process by the harness:

    python -m bench.loadgen CONFIG.json   →  one JSON object on stdout

CONFIG: {"host", "port", "path", "method", "headers": {…}, "bodies": "FILE.jsonl" | null,
"body": "…" | null, "requests": n, "concurrency": c, "warmup": w}. With `bodies`, request i
sends line i of the file (warm-up requests take the first `warmup` lines). Connections are
kept alive when the server allows it and opened again when it closes them (gunicorn's sync
workers close after every response).
"""

import asyncio
import contextlib
import json
import resource
import sys
import time


class HttpError(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise HttpError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close" and parts[0] == "HTTP/1.1"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return status, bytes(body), keep_alive
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), keep_alive
    return status, await reader.read(), False


class Client:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.connects += 1
                fresh = True
            else:
                fresh = False
            try:
                self.writer.write(raw)
                await self.writer.drain()
                status, body, keep_alive = await _read_response(self.reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                if fresh or attempt == 2:  # a kept-alive connection the server closed: try once more
                    raise HttpError(f"{exc.__class__.__name__}: {exc}") from exc
                continue
            if not keep_alive:
                await self.close()
            return status, body
        raise HttpError("unreachable")


def _raw_request(config: dict, body: bytes) -> bytes:
    headers = {
        "Host": f"{config['host']}:{config['port']}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "keep-alive",
        **config.get("headers", {}),
    }
    head = f"{config.get('method', 'POST')} {config['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + body


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not sorted_values:
        return None
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run(config: dict) -> dict:
    if config.get("bodies"):
        with open(config["bodies"], "rb") as handle:
            bodies = [line.rstrip(b"\n") for line in handle if line.strip()]
    else:
        bodies = None
    fixed_body = (config.get("body") or "").encode()
    warmup, total, concurrency = int(config.get("warmup", 0)), int(config["requests"]), int(config["concurrency"])
    if bodies is not None and len(bodies) < warmup + total:
        raise SystemExit(f"{len(bodies)} bodies for {warmup + total} requests")
    raws = [_raw_request(config, bodies[i] if bodies is not None else fixed_body) for i in range(warmup + total)]

    clients = [Client(config["host"], config["port"]) for _ in range(concurrency)]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    failures: list[str] = []
    samples: list[str] = []

    async def worker(client: Client, queue: list[int], record: bool) -> None:
        while queue:
            index = queue.pop()
            started = time.perf_counter()
            try:
                status, body = await client.request(raws[index])
            except (HttpError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if record:
                    failures.append(f"{exc.__class__.__name__}: {exc}"[:300])
                continue
            if record:
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if not 200 <= status < 300 and len(samples) < 5:
                    samples.append(f"{status}: {body[:300].decode('utf-8', 'replace')}")

    if warmup:
        warm = list(range(warmup - 1, -1, -1))
        await asyncio.gather(*(worker(c, warm, False) for c in clients))
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    queue = list(range(warmup + total - 1, warmup - 1, -1))
    started_at = time.time()
    started = time.perf_counter()
    await asyncio.gather(*(worker(c, queue, True) for c in clients))
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    for client in clients:
        await client.close()
    ordered = sorted(latencies)
    ok = sum(count for status, count in statuses.items() if status.startswith("2"))
    return {
        "requests": total,
        "concurrency": concurrency,
        "ok": ok,
        "errors": total - ok,
        "statuses": statuses,
        "failures": failures[:5],
        "failure_count": len(failures),
        "error_samples": samples,
        "wall_seconds": round(wall, 3),
        "started_at": started_at,
        "per_second": round(ok / wall, 2) if wall else None,
        "latency_ms": {
            "p50": _r(percentile(ordered, 0.50)),
            "p90": _r(percentile(ordered, 0.90)),
            "p95": _r(percentile(ordered, 0.95)),
            "p99": _r(percentile(ordered, 0.99)),
            "max": _r(ordered[-1] if ordered else None),
            "mean": _r(sum(ordered) / len(ordered) if ordered else None),
        },
        "connections_opened": sum(c.connects for c in clients),
        "client_cpu_seconds": round(
            (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime), 3
        ),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def main(argv: list[str]) -> int:
    with open(argv[1]) as handle:
        config = json.load(handle)
    result = asyncio.run(run(config))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
