"""Two-factor authentication (TOTP, django-otp) for the roles that move money and the
superusers.

A staff member who needs it (`otp_required`) and has no confirmed authenticator is sent
to enrol (scan a QR code, confirm with a code, receive backup codes); with one, they
enter a code after the password before any staff page (`StaffTwoFactorMiddleware`).
Codes are throttled per device by django-otp; the verification lives in the session, so
it ends with the session (idle timeout).
"""

import base64
import io
import logging

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.exceptions import ApplicationError, PermissionDenied
from core.models import User
from core.roles import TWO_FACTOR_ROLES

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"


class InvalidToken(ApplicationError):
    code = "invalid_token"


def otp_required(user) -> bool:
    """Superusers and members of the Finance and Manager roles need a second factor."""
    if not settings.STAFF_OTP_REQUIRED or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cached = getattr(user, "_otp_required", None)
    if cached is None:
        cached = user.is_superuser or user.groups.filter(name__in=TWO_FACTOR_ROLES).exists()
        user._otp_required = cached
    return cached


def otp_has_device(user) -> bool:
    return user_has_device(user, confirmed=True)


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator being set up for `user` (made once, so reloading the
    page shows the same QR code)."""
    if otp_has_device(user):
        raise ApplicationError(_("You already have an authenticator."), code="already_enrolled")
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The key as people type it into an app: base32 in groups of four."""
    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def _throttled(device) -> InvalidToken | None:
    """After wrong codes a device waits a little longer each time (django-otp)."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (info or {}).get("locked_until")
    seconds = max(int((locked_until - timezone.now()).total_seconds()) + 1, 1) if locked_until else 1
    return InvalidToken(
        _("Too many wrong codes. Wait %(seconds)d seconds and try again.") % {"seconds": seconds}, code="throttled"
    )


def totp_enrolment_confirm(*, user: User, device_id: int, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator with a code from it. Returns the device and a new set
    of one-time backup codes (shown once). A wrong code changes nothing but the
    device's throttle."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
        if device is None:
            raise ApplicationError(_("Start the set-up again."), code="no_enrolment")
        throttled = _throttled(device)
        if throttled:
            raise throttled
        verified = device.verify_token((token or "").replace(" ", ""))
        codes: list[str] = []
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            codes = _backup_codes_replace(user)
    if not verified:
        raise InvalidToken(_("That code is not right. Check the time on your phone and try the next code."))
    logger.info("two-factor enrolled", extra={"user": user.username})
    return device, codes


def _backup_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def otp_verify(*, user: User, token: str):
    """The device that accepts `token` (an authenticator code or a backup code), or
    InvalidToken. Each device throttles failed attempts."""
    token = (token or "").replace(" ", "").lower()
    if token:
        # an authenticator code is digits, a backup code letters: try only the devices it can fit
        kind = TOTPDevice if token.isdigit() else StaticDevice
        throttled = None
        for device in [d for d in devices_for_user(user, confirmed=True) if isinstance(d, kind)]:
            with transaction.atomic():
                locked = type(device).objects.select_for_update().get(pk=device.pk)
                throttled = _throttled(locked)
                if throttled is None and locked.verify_token(token):
                    return locked
        if throttled is not None:
            raise throttled
    raise InvalidToken(_("That code is not right."))


@transaction.atomic
def otp_devices_reset(*, user_id: int, actor: User) -> int:
    """Remove a staff member's authenticator and backup codes (a lost phone); they enrol
    again at their next login. Only a superuser may, and not for themselves."""
    if actor is None or not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can reset two-factor authentication."))
    if actor.pk == user_id:
        raise PermissionDenied(_("Another superuser must reset your two-factor authentication."))
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user_id=user_id)
        removed += devices.count()
        devices.delete()
    logger.info("two-factor reset", extra={"user_id": user_id, "actor": actor.username})
    return removed
