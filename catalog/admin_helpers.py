"""Staff screens that call a service through a form (set a price, adjust stock, receive
a delivery …): the form checks shape only, the service checks the business rules, and a
refusal shows as a form error — never a half-done change or a server error."""

from collections.abc import Callable

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from core.exceptions import ApplicationError


def service_form_view(
    model_admin,
    request,
    *,
    form,
    title: str,
    run: Callable[[dict], str],
    success_url: str,
    obj=None,
    intro: str = "",
    details: list[tuple[str, object]] | None = None,
    submit_label: str = "",
):
    """Render `form`; on a valid POST call `run(cleaned_data)` (which calls the service and
    returns the success message) and redirect to `success_url`. An ApplicationError
    becomes an error on the field it names, or on the form."""
    if request.method == "POST" and form.is_valid():
        try:
            message = run(form.cleaned_data)
        except ApplicationError as exc:
            field = exc.attr.split(".")[0] if exc.attr else None
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            model_admin.message_user(request, message)
            return HttpResponseRedirect(success_url)
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "original": obj,
        "form": form,
        "intro": intro,
        "details": details or [],
        "submit_label": submit_label,
        "media": model_admin.media + form.media,
        "cancel_url": success_url,
    }
    return TemplateResponse(request, "admin/catalog/service_form.html", context)
