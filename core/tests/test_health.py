import pytest
from django.test import override_settings

from core.services import worker_heartbeat_record


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_worker(client):
    worker_heartbeat_record()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {**body["database"], "ok": True, "engine": "postgresql"}
    assert body["broker"]["ok"] is True
    assert body["worker"]["seconds_ago"] <= 5


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client):
    from backoffice.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
            response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["database"]["ok"] is True
