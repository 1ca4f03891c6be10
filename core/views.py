import datetime
import time

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from core.api import errors
from core.exceptions import ApplicationError
from core.services import WORKER_HEARTBEAT_KEY
from core.twofactor import (
    otp_has_device,
    otp_required,
    otp_verify,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_svg,
    totp_secret,
)


def _check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 — health reports any failure
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "engine": connection.vendor, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_broker() -> dict:
    from backoffice.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "transport": str(transport), "ms": round((time.perf_counter() - started) * 1000, 1)}


def _worker_seen() -> dict:
    """When a worker last ran the heartbeat task (beat sends it every minute). Reported,
    not judged: a web node is healthy even while workers restart."""
    stamp = cache.get(WORKER_HEARTBEAT_KEY)
    if not stamp:
        return {"last_seen": None}
    age = (timezone.now() - datetime.datetime.fromisoformat(stamp)).total_seconds()
    return {"last_seen": stamp, "seconds_ago": round(age)}


@never_cache
@require_GET
def healthz(request):
    """Database and broker reachability; 200 when both answer, 503 otherwise."""
    database = _check_database()
    broker = _check_broker()
    healthy = database["ok"] and broker["ok"]
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": database,
            "broker": broker,
            "worker": _worker_seen(),
        },
        status=200 if healthy else 503,
    )


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        return errors.api_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return errors.api_permission_denied(request, exception)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return errors.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return errors.api_server_error(request)
    return defaults.server_error(request)


# --- staff login: two-factor and lock-out ----------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "size": 12}),
    )


def _next_or_index(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("admin:index")


def _two_factor_page(request, template: str, **context):
    return render(
        request,
        template,
        {**admin.site.each_context(request), "next": _next_or_index(request), **context},
    )


@never_cache
def two_factor_verify(request):
    """After the password: a code from the authenticator app (or a backup code)."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not otp_required(user) or user.is_verified():
        return redirect(_next_or_index(request))
    if not otp_has_device(user):
        return redirect(f"{reverse('two_factor:enrol')}?{urlencode({'next': _next_or_index(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = otp_verify(user=user, token=form.cleaned_data["token"])
        except ApplicationError as exc:
            form.add_error("token", str(exc))
        else:
            request.session.cycle_key()
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request,
                    ngettext(
                        "You used a backup code; %(count)d is left.",
                        "You used a backup code; %(count)d are left.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(_next_or_index(request))
    return _two_factor_page(request, "core/two_factor_verify.html", title=_("Two-factor authentication"), form=form)


@never_cache
def two_factor_enrol(request):
    """Set up an authenticator app: scan the QR code, confirm with a code, keep the
    backup codes."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not otp_required(user):
        return redirect(_next_or_index(request))
    if otp_has_device(user):
        return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': _next_or_index(request)})}")
    device = totp_enrolment_start(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = totp_enrolment_confirm(user=user, device_id=device.pk, token=form.cleaned_data["token"])
        except ApplicationError as exc:
            form.add_error("token", str(exc))
        else:
            request.session.cycle_key()
            otp_login(request, device)
            return _two_factor_page(
                request, "core/two_factor_backup_codes.html", title=_("Your backup codes"), codes=codes
            )
    return _two_factor_page(
        request,
        "core/two_factor_enrol.html",
        title=_("Set up two-factor authentication"),
        form=form,
        qr_svg=mark_safe(totp_qr_svg(device)),  # noqa: S308 — SVG made by qrcode from our own data
        secret=totp_secret(device),
    )


def login_locked_out(request, original_response=None, credentials=None):
    """What django-axes shows after too many failed logins (AXES_LOCKOUT_CALLABLE)."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    response = render(
        request,
        "core/locked_out.html",
        {**admin.site.each_context(request), "title": _("Too many failed logins"), "minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    return response
