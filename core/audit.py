"""The audit trail: who changed what, when, before and after (django-simple-history).

Models that must be traceable declare `history = audit_history()`. The history row names
the actor:
- a staff user acting in the admin or the helpdesk (taken from the request), or
- whoever a service says it acts for (`with acting_as(user, label)`), which also covers
  API clients (a channel or location key: no user, but a label such as
  `channel:webshop-nl`) and Celery tasks (`task:payments.dunning_run`).

Services wrap their writes in `with audited(actor):` so the row names the actor also
outside a request (a task, a command, an approved action). An outer `acting_as` wins:
the approval engine, an API view or a task knows more than the service it calls (an
approved action is labelled `approval:<id>:<requester>/<decider>`).

Reading: `history_entries(qs, …)` turns historical rows of one or more models into
`HistoryEntry` items with the before/after of each changed field, newest first (the
helpdesk timeline and the customer page use it through `customers.selectors`).
"""

import contextlib
import contextvars
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, models
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

SYSTEM_LABEL = "system"


@dataclass(frozen=True)
class Actor:
    user: object | None
    label: str


_current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def _principal_label(principal) -> str:
    """A user's username; an API client's own label (`channel:webshop-nl`)."""
    if principal is None:
        return ""
    return getattr(principal, "username", "") or str(principal)


@contextlib.contextmanager
def acting_as(user=None, label: str = ""):
    """Everything saved inside the block is attributed to `user` (and/or `label`)."""
    token = _current_actor.set(Actor(user=user, label=label or _principal_label(user)))
    try:
        yield
    finally:
        _current_actor.reset(token)


@contextlib.contextmanager
def audited(actor):
    """For services: attribute the writes in the block to `actor`, unless a caller
    already said who acts (then its richer label stays). `actor=None` leaves the
    request's user or `system`."""
    if actor is None or _current_actor.get() is not None:
        yield
        return
    with acting_as(actor):
        yield


def current_actor() -> Actor | None:
    return _current_actor.get()


def actor_label(user=None) -> str:
    actor = _current_actor.get()
    if actor and actor.label:
        return actor.label
    return _principal_label(user)


def _history_user(instance=None, request=None, **kwargs):
    from core.models import User

    actor = _current_actor.get()
    if actor is not None:
        return actor.user if isinstance(actor.user, User) else None
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_authenticated else None


class AuditHistoryBase(models.Model):
    """Extra columns on every history table: the actor's label when the actor is not a
    staff user (an API client, a task)."""

    history_actor = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        abstract = True


class _HistoryDescriptor(HistoryDescriptor):
    """`Model.history` as django-simple-history has it, but its manager class is made
    once: simple-history makes a new class (`from_queryset`) on every access, and it
    reads the attribute for every history row it writes."""

    def __init__(self, model, manager, queryset):
        super().__init__(model, manager=manager, queryset=queryset)
        self._manager_class = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self._manager_class(self.model, instance)


class AuditHistoricalRecords(HistoricalRecords):
    """Writes no history row for a save that touched only untracked fields
    (`save(update_fields=["last_login"])` when `last_login` is excluded)."""

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                _HistoryDescriptor(descriptor.model, descriptor.manager_class, descriptor.queryset_class),
            )

    def post_save(self, instance, created, using=None, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not created and update_fields is not None:
            tracked = {f.name for f in self.fields_included(instance)} | {
                f.attname for f in self.fields_included(instance)
            }
            if not tracked.intersection(update_fields):
                return
        super().post_save(instance, created, using=using, **kwargs)


def audit_history(**kwargs) -> HistoricalRecords:
    kwargs.setdefault("bases", [AuditHistoryBase])
    kwargs.setdefault("get_user", _history_user)
    return AuditHistoricalRecords(**kwargs)


def audit_register(model, *, app: str, **kwargs) -> None:
    """History for a model of another package (auth.Group), its table in `app`."""
    from simple_history import register

    kwargs.setdefault("bases", [AuditHistoryBase])
    kwargs.setdefault("get_user", _history_user)
    register(model, app=app, records_class=AuditHistoricalRecords, **kwargs)


def _label_history_row(sender, instance, history_instance, **kwargs) -> None:
    if not hasattr(history_instance, "history_actor"):
        return
    actor = _current_actor.get()
    if actor is not None and actor.label:
        history_instance.history_actor = actor.label[:120]
    elif history_instance.history_user_id:
        history_instance.history_actor = history_instance.history_user.username[:120]
    else:
        request = getattr(HistoricalRecords.context, "request", None)
        principal = getattr(request, "user", None)
        label = _principal_label(principal) if principal is not None and principal.is_authenticated else ""
        history_instance.history_actor = (label or SYSTEM_LABEL)[:120]


pre_create_historical_record.connect(_label_history_row, dispatch_uid="core.audit.label_history_row")


def history_rows_write(model, *, pks: list, history_type: str = "~", when: datetime.datetime | None = None) -> int:
    """A history row for each of these rows of `model` as they are in the database now, for
    a change written in bulk (an UPDATE of many rows, which sends no `post_save`): one
    INSERT … SELECT, the actor and its label as a `save()` inside the same block would
    record them. Returns how many rows were given."""
    if not pks:
        return 0
    historical = model.history.model
    request = getattr(HistoricalRecords.context, "request", None)
    user = _history_user(request=request)
    actor = _current_actor.get()
    label = actor.label if actor is not None and actor.label else _principal_label(user)  # as _label_history_row
    if not label and request is not None and getattr(request.user, "is_authenticated", False):
        label = _principal_label(request.user)
    quote = connection.ops.quote_name
    copied = [quote(field.column) for field in historical.tracked_fields]
    extra = ["history_date", "history_change_reason", "history_type", "history_user_id", "history_actor"]
    # names from the models, values as parameters
    sql = "INSERT INTO {history} ({columns}) SELECT {copied}, %s, %s, %s, %s, %s FROM {table} WHERE {pk} IN ({ids})"
    sql = sql.format(
        history=quote(historical._meta.db_table),
        columns=", ".join([*copied, *(quote(name) for name in extra)]),
        copied=", ".join(copied),
        table=quote(model._meta.db_table),
        pk=quote(model._meta.pk.column),
        ids=", ".join(["%s"] * len(pks)),
    )
    params = [
        when or timezone.now(),
        None,
        history_type,
        user.pk if user else None,
        (label or SYSTEM_LABEL)[:120],
        *pks,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(pks)


# --- reading the trail ------------------------------------------------------------------

# Bookkeeping columns whose change says nothing to a reader.
DIFF_IGNORED_FIELDS = frozenset({"updated_at", "created_at"})


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    """One historical row as a reader sees it."""

    history_id: int
    at: datetime.datetime
    kind: str  # "+" created, "~" changed, "-" deleted
    model_label: str  # "customer", "address"
    object_id: object
    object_repr: str
    actor: str  # the label: a username, `channel:webshop-nl`, `approval:12:ann/bob`, `system`
    actor_user_id: int | None
    changes: list[FieldChange] = field(default_factory=list)
    url: str = ""

    @property
    def kind_label(self) -> str:
        return {"+": _("created"), "~": _("changed"), "-": _("deleted")}.get(self.kind, self.kind)


def display_value(model_field, value, related: dict | None = None) -> str:
    """A field's value as a reader sees it: choice labels, yes/no, local time, the related
    object's name (from `related`, keyed by (model, pk))."""
    if value is None or value == "":
        return "—"
    if isinstance(model_field, models.ForeignKey):
        obj = (related or {}).get((model_field.related_model, value))
        return str(obj) if obj is not None else f"#{value}"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.datetime):
        return formats.localize(timezone.localtime(value) if timezone.is_aware(value) else value)
    if isinstance(value, datetime.date | datetime.time):
        return formats.localize(value)
    return str(value)


def _admin_url(model, object_id) -> str:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[object_id])
    except NoReverseMatch:
        return ""


def history_entries(*querysets: Iterable, limit: int | None = None) -> list[HistoryEntry]:
    """The rows of the given historical querysets as entries with their field changes,
    newest first. Each object's rows are paired with its previous row, so pass every row
    of the objects concerned (the queryset is read once; related names are resolved in
    one query per related model)."""
    raw: list[tuple[object, object]] = []  # (record, previous record of the same object)
    for queryset in querysets:
        records = list(queryset.order_by("history_date", "history_id"))
        previous: dict[object, object] = {}
        for record in records:
            pk = getattr(record, record.instance_type._meta.pk.attname)
            raw.append((record, previous.get(pk)))
            previous[pk] = record

    deltas = []
    wanted: dict[type, set] = defaultdict(set)
    for record, prev in raw:
        changes = []
        if prev is not None and record.history_type == "~":
            delta = record.diff_against(prev, excluded_fields=DIFF_IGNORED_FIELDS)
            for change in delta.changes:
                model_field = record.instance_type._meta.get_field(change.field)
                if isinstance(model_field, models.ForeignKey):
                    for value in (change.old, change.new):
                        if value is not None:
                            wanted[model_field.related_model].add(value)
                changes.append((model_field, change.old, change.new))
        deltas.append((record, changes))

    related = {}
    for model, ids in wanted.items():
        for pk, obj in model._base_manager.in_bulk(list(ids)).items():
            related[(model, pk)] = obj

    entries = []
    for record, changes in deltas:
        model = record.instance_type
        object_id = getattr(record, model._meta.pk.attname)
        entries.append(
            HistoryEntry(
                history_id=record.history_id,
                at=record.history_date,
                kind=record.history_type,
                model_label=str(capfirst(model._meta.verbose_name)),
                object_id=object_id,
                object_repr=str(record.instance),
                actor=getattr(record, "history_actor", "") or SYSTEM_LABEL,
                actor_user_id=record.history_user_id,
                changes=[
                    FieldChange(
                        field=str(capfirst(f.verbose_name)),
                        old=display_value(f, old, related),
                        new=display_value(f, new, related),
                    )
                    for f, old, new in changes
                ],
                url=_admin_url(model, object_id) if record.history_type != "-" else "",
            )
        )
    entries.sort(key=lambda e: (e.at, e.history_id), reverse=True)
    return entries[:limit] if limit is not None else entries
