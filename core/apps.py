from importlib import import_module

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _after_migrate(sender, using="default", **kwargs) -> None:
    """After every migrate: make sure every app's permissions exist, then give the roles
    exactly their permissions and add missing default schedule entries."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from core.roles import sync_roles
    from core.schedule import sync_schedule

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_roles(using=using)
    sync_schedule()
    # Reference data an app cannot run without (VAT rates, …) is created by its data
    # migrations; `<app>/defaults.py: ensure_defaults()` puts it back after a flush.
    for app_config in apps.get_app_configs():
        try:
            module = import_module(f"{app_config.name}.defaults")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.defaults":
                raise
            continue
        module.ensure_defaults()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from backoffice.celery import ensure_broker_folders
        from core import checks  # noqa: F401 — registers the deployment checks

        ensure_broker_folders()
        autodiscover_modules("approvals")  # each app registers its four-eyes actions
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="core.after_migrate")
