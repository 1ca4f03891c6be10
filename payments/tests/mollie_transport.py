"""A `requests` transport that answers like api.mollie.com from recorded responses.

Only the HTTP edge is replaced: the adapter under test builds real requests, and real
`requests.Response` objects come back."""

import json
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

API = "https://api.mollie.com"
REASONS = {200: "OK", 201: "Created", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity"}


class RecordedMollie(BaseAdapter):
    def __init__(self):
        super().__init__()
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[requests.PreparedRequest] = []

    def add(self, method: str, path: str, body, status: int = 200, content_type: str = "application/hal+json"):
        """Answer `method path` with `body` (a dict is sent as JSON, an exception is raised)."""
        self.routes.setdefault((method, path), []).append((status, body, content_type))
        return self

    def send(self, request, **kwargs):
        self.requests.append(request)
        path = urlsplit(request.url).path
        answers = self.routes.get((request.method, path))
        if not answers:
            status, body, content_type = (
                404,
                {"status": 404, "title": "Not Found", "detail": "No route"},
                "application/hal+json",
            )
        else:
            status, body, content_type = answers[0] if len(answers) == 1 else answers.pop(0)
        if isinstance(body, Exception):
            raise body
        response = requests.Response()
        response.status_code = status
        response.reason = REASONS.get(status, "")
        response.headers = CaseInsensitiveDict({"Content-Type": content_type})
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self):
        pass

    def json_bodies(self) -> list:
        return [json.loads(r.body) if r.body else None for r in self.requests]
