"""Demo data: `manage.py seed_demo`. Each app contributes steps; every step is
idempotent (keyed on natural keys), so running the command again changes nothing.

Staff logins get generated passwords, and only in demo mode (DEMO_MODE, on with DEBUG);
they and the demo API keys are written to var/demo_logins.json for `make run` to print.
"""

import datetime
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.utils.module_loading import import_string
from faker import Faker

from core import roles
from core.models import ApiKey, SalesChannel, User
from core.selectors import api_key_hash
from core.services import api_key_create, channel_create_or_update

# Steps in order; later apps add theirs.
DEMO_STEPS = [
    "core.demo.seed_channels",
    "core.demo.seed_staff",
    "inventory.demo.seed_locations",
    "catalog.demo.seed_products",
    "inventory.demo.seed_stock",
    "customers.demo.seed_customers",
    "orders.demo.seed_orders",
    "payments.demo.seed_payments",
    "core.demo.seed_api_keys",
]

DEMO_STAFF = [
    ("manager", "Marieke", "Jansen", roles.MANAGER),
    ("finance", "Femke", "de Boer", roles.FINANCE),
    ("warehouse", "Willem", "Bakker", roles.WAREHOUSE),
    ("service", "Sanne", "Visser", roles.CUSTOMER_SERVICE),
]


@dataclass
class DemoContext:
    faker: Faker
    logins: dict = field(default_factory=dict)
    report: list[str] = field(default_factory=list)


def logins_path() -> Path:
    return Path(settings.VAR_DIR) / "demo_logins.json"


def read_logins() -> dict:
    path = logins_path()
    if path.exists():
        return json.loads(path.read_text())
    return {}


def write_logins(logins: dict) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(logins, indent=2, sort_keys=True))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def seed_demo() -> list[str]:
    faker = Faker("nl_NL")
    faker.seed_instance(2026)
    ctx = DemoContext(faker=faker, logins=read_logins())
    for step in DEMO_STEPS:
        import_string(step)(ctx)
    write_logins(ctx.logins)
    return ctx.report


def seed_channels(ctx: DemoContext) -> None:
    for code, name, kind, cutoff, partial, prefix in [
        ("webshop-nl", "Webshop NL", SalesChannel.Kind.WEBSHOP, datetime.time(16, 0), True, "WEB"),
        ("store-utrecht", "Winkel Utrecht", SalesChannel.Kind.STORE, datetime.time(17, 0), False, "STR"),
    ]:
        if not SalesChannel.objects.filter(code=code).exists():
            channel_create_or_update(
                code=code,
                name=name,
                kind=kind,
                cutoff_time=cutoff,
                partial_shipments=partial,
                order_number_prefix=prefix,
            )
    ctx.report.append(f"sales channels: {SalesChannel.objects.count()}")


def seed_staff(ctx: DemoContext) -> None:
    """One staff user per role, plus a superuser `admin`. Passwords are generated, never
    fixed, and only in demo mode; outside it the users get no usable password."""
    accounts = [*DEMO_STAFF, ("admin", "Anna", "Admin", None)]
    for username, first, last, role in accounts:
        if User.objects.filter(username=username).exists():
            continue
        user = User(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@backoffice.example.nl",
            is_staff=True,
            is_superuser=role is None,
        )
        if settings.DEMO_MODE:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            ctx.logins.setdefault("staff", {})[username] = {"password": password, "role": role or "superuser"}
        else:
            user.set_unusable_password()
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
    ctx.report.append(f"staff users: {User.objects.filter(is_staff=True).count()}")


def seed_api_keys(ctx: DemoContext) -> None:
    """Demo keys for the webshop and the Utrecht warehouse, kept in the logins file so
    that the API docs can be tried at once."""
    if not settings.DEMO_MODE:
        return
    from inventory.models import Location

    keys = ctx.logins.setdefault("api_keys", {})
    for label, owner in [
        ("webshop-nl", {"channel": SalesChannel.objects.get(code="webshop-nl")}),
        ("UTR", {"location": Location.objects.get(code="UTR")}),
    ]:
        existing = keys.get(label)
        if existing and ApiKey.objects.filter(key_hash=api_key_hash(existing), revoked_at__isnull=True).exists():
            continue
        _, raw = api_key_create(name=f"demo {label}", **owner)
        keys[label] = raw
    ctx.report.append(f"demo API keys: {', '.join(sorted(keys))}")
