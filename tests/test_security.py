"""Web security: headers, CSRF, the API docs without third-party scripts."""

import re

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/healthz"])
def test_security_headers_on_every_kind_of_page(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_api_docs_load_only_our_own_scripts(client):
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert sources, page
    assert all(src.startswith(("/static/", "/api/docs/")) for src in sources), sources
    assert "<script>" not in page  # no inline script: the start-up script is a file
    init = next(s for s in sources if s.startswith("/api/docs/"))
    assert client.get(init.replace("&amp;", "&")).status_code == 200


@pytest.mark.django_db
def test_admin_forms_require_the_csrf_token():
    from core.tests.factories import UserFactory

    UserFactory(username="csrf-user", is_superuser=True)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/admin/login/", {"username": "csrf-user", "password": "correct horse battery staple"})
    assert response.status_code == 403
    page = strict.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    ok = strict.post(
        "/admin/login/",
        {"username": "csrf-user", "password": "correct horse battery staple", "csrfmiddlewaretoken": token},
    )
    assert ok.status_code == 302
