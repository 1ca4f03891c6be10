import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_builds_without_warnings(tmp_path):
    # when: --fail-on-warn turns any warning into an error
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    # then
    schema = yaml.safe_load(target.read_text())
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    assert "/api/v1/customers/" in schema["paths"]
    error = schema["components"]["schemas"]["ErrorResponse"]
    assert set(error["properties"]) == {"type", "errors"}


@pytest.mark.django_db
def test_docs_and_schema_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
