"""The files an operator deploys with: docker-compose.yml, Procfile, Makefile, .ci/run."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

BASE = Path(__file__).resolve().parents[1]


def test_compose_has_the_five_services_wired_to_postgres_and_redis():
    compose = yaml.safe_load((BASE / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert set(services[name]["depends_on"]) == {"postgres", "redis"}
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


@pytest.mark.skipif(not shutil.which("docker"), reason="docker is not installed")
def test_docker_compose_config_is_valid():
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    result = subprocess.run(
        ["docker", "compose", "config", "-q"], cwd=BASE, capture_output=True, text=True, env={"SECRET_KEY": "x" * 60}
    )
    assert result.returncode == 0, result.stderr


def test_procfile_runs_web_worker_and_beat():
    entries = dict(line.split(":", 1) for line in (BASE / "Procfile").read_text().splitlines() if line.strip())
    assert set(entries) == {"web", "worker", "beat"}
    assert "gunicorn backoffice.wsgi" in entries["web"]
    assert "default,documents,carriers" in entries["worker"]


def test_ci_runs_make_test_and_readme_starts_with_the_two_commands():
    assert "make test" in (BASE / ".ci" / "run").read_text()
    readme = (BASE / "README.md").read_text()
    first_commands = [line.strip() for line in readme.splitlines() if line.strip().startswith("make ")][:2]
    assert first_commands == ["make run", "make test"]


def test_every_requirement_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (BASE / name).read_text().splitlines():
            line = line.strip()
            if not line or line.startswith(("#", "-r ")):
                continue
            assert "==" in line, f"{name}: {line} is not pinned"
