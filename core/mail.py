"""Mails to customers: plain text and HTML from one pair of templates, in the customer's
language.

    with translation.override(language):
        subject = _("Your order %(number)s is on its way") % {"number": order.number}
    mail_send(to=[order.email], subject=subject, template="carriers/mail/shipment_shipped",
              context={...}, language=language)

renders `carriers/mail/shipment_shipped.txt` and `….html` with that language active (so
`{% translate %}` and date formats follow it). Call it from a Celery task (a task name
starting with `documents.`), queued through the outbox, never inside a transaction.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def mail_language(language: str | None) -> str:
    """The customer's language when the site speaks it, else the default (Dutch)."""
    available = {code for code, _name in settings.LANGUAGES}
    code = (language or "").strip().lower()
    if code in available:
        return code
    base = code.split("-")[0]
    return base if base in available else settings.LANGUAGE_CODE


def mail_render(*, template: str, context: dict, language: str) -> tuple[str, str]:
    """(plain text, HTML) of `template` in `language`."""
    with translation.override(mail_language(language)):
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    return text.strip() + "\n", html


def mail_send(
    *,
    to: list[str],
    subject: str,
    template: str,
    context: dict,
    language: str,
    from_email: str | None = None,
    reply_to: list[str] | None = None,
) -> int:
    """Send one mail (text with an HTML alternative). Returns the number sent (1)."""
    text, html = mail_render(template=template, context=context, language=language)
    message = EmailMultiAlternatives(
        subject=" ".join(str(subject).split()),
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=to,
        reply_to=reply_to,
        # the template names the kind of mail, for support and for tests
        headers={"Content-Language": mail_language(language), "X-Backoffice-Template": template},
    )
    message.attach_alternative(html, "text/html")
    return message.send(fail_silently=False)
