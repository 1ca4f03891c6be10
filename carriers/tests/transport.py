"""The edge of the world for the adapter tests: a `requests` transport adapter mounted on an
adapter's session that answers with recorded carrier responses (the samples in
../shared/samples/carrier/) or with responses built from a carrier's documented shape, and
remembers every request it was sent."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "carrier"


@dataclass
class Recorded:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        return json.loads(self.body)


def sample_path(name: str) -> Path:
    path = SAMPLES / name
    assert path.exists(), f"missing sample {path}"
    return path


def load_sample_json(name: str):
    return json.loads(sample_path(name).read_text(encoding="utf-8"))


def load_http(name: str) -> Recorded:
    """A recorded raw HTTP response: status line, headers, blank line, body."""
    raw = sample_path(name).read_bytes()
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name_, _, value = line.partition(":")
        headers[name_.strip()] = value.strip()
    return Recorded(status=status, headers=headers, body=body)


def json_response(data, status: int = 200, headers: dict | None = None) -> Recorded:
    return Recorded(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=json.dumps(data).encode(),
    )


def xml_response(text: str, status: int = 200) -> Recorded:
    return Recorded(status=status, headers={"Content-Type": "text/xml; charset=utf-8"}, body=text.encode())


class CarrierTransport(BaseAdapter):
    """Routes are (method, path regex) → a list of answers served in turn (the last one
    repeats). An answer is a Recorded response or an exception to raise (timeouts …)."""

    def __init__(self):
        super().__init__()
        self.routes: list[tuple[str, re.Pattern, list]] = []
        self.sent: list[requests.PreparedRequest] = []

    def add(self, method: str, path: str, *answers) -> "CarrierTransport":
        self.routes.append((method.upper(), re.compile(path), list(answers)))
        return self

    def calls(self, method: str | None = None, path: str | None = None) -> list[requests.PreparedRequest]:
        return [
            r
            for r in self.sent
            if (method is None or r.method == method.upper())
            and (path is None or re.search(path, urlsplit(r.url).path))
        ]

    @staticmethod
    def query(request: requests.PreparedRequest) -> dict[str, list[str]]:
        return parse_qs(urlsplit(request.url).query)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        assert timeout is not None, "carrier calls must have a timeout"
        self.sent.append(request)
        path = urlsplit(request.url).path
        for method, pattern, answers in self.routes:
            if method == request.method and pattern.search(path):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, BaseException):
                    raise answer
                response = requests.Response()
                response.status_code = answer.status
                response.headers = CaseInsensitiveDict(answer.headers)
                response._content = answer.body
                response.encoding = "utf-8"
                response.url = request.url
                response.request = request
                response.reason = "recorded"
                return response
        raise AssertionError(f"no recorded answer for {request.method} {request.url}")

    def close(self):
        pass


def mount(adapter, transport: CarrierTransport) -> CarrierTransport:
    adapter.session.mount("https://", transport)
    adapter.session.mount("http://", transport)
    return transport
