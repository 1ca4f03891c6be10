"""What every measurement gets: the profile (how much to do), the results so far, and
helpers for API keys, an admin session, the gunicorn server and files under var/bench/."""

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"


@dataclass(frozen=True)
class Profile:
    name: str
    scale: float
    intake_requests: int
    concurrency: int
    warmup_requests: int
    read_repeats: int
    read_warmup: int
    poll_shipments: int
    statement_entries: int


PROFILES = {
    # what `make bench` measures: the default data set (1M orders)
    "full": Profile("full", 1.0, 3000, 8, 32, 30, 3, 20_000, 10_000),
    # what CI runs to prove the harness works (< 3 minutes)
    "quick": Profile("quick", 0.01, 200, 8, 16, 6, 2, 200, 100),
}


@dataclass
class BenchContext:
    profile: Profile
    database: str
    out_dir: Path = OUT_DIR
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    profile_misses: bool = False  # --profile: profile what misses a target
    results: dict = field(default_factory=dict)
    _keys: dict = field(default_factory=dict)
    _server: object = None

    def path(self, *parts: str) -> Path:
        path = self.out_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, key: str, value) -> None:
        """Figures beside a measurement's own entry (e.g. `queries_per_order_detail`)."""
        self.results[key] = value

    # --- clients ----------------------------------------------------------------------

    def api_key(self, channel_code: str) -> str:
        """A fresh key of the channel for this run (made once per run)."""
        if channel_code not in self._keys:
            from core.models import SalesChannel
            from core.services import api_key_create

            channel = SalesChannel.objects.get(code=channel_code)
            _, raw = api_key_create(name=f"bench {self.run_id}", channel=channel)
            self._keys[channel_code] = raw
        return self._keys[channel_code]

    def api_client(self, channel_code: str = "webshop-nl"):
        """An in-process client (Django's test client, the whole middleware stack)."""
        from django.test import Client

        return Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Token {self.api_key(channel_code)}")

    def admin_client(self):
        """A superuser's browser session that passed the second factor, as in production."""
        from django.test import Client
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from core.models import User

        user = User.objects.filter(username="bench-admin").first()
        if user is None:
            user = User.objects.create_superuser(username="bench-admin", email="bench@example.nl", password=None)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    # --- the server -------------------------------------------------------------------

    def gunicorn(self):
        """gunicorn with 2 workers on the bench settings, started once per run."""
        if self._server is None:
            from bench.server import Gunicorn

            self._server = Gunicorn(root=ROOT, log_dir=self.out_dir / "logs").start()
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    # --- earlier runs -----------------------------------------------------------------

    def other_scale_results(self) -> dict[str, dict]:
        """Results of the latest run at each other scale (results-scale-<x>.json)."""
        found = {}
        for path in sorted(self.out_dir.glob("results-scale-*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            scale = data.get("run", {}).get("scale")
            if scale is not None and scale != self.profile.scale:
                found[str(scale)] = data
        return found
