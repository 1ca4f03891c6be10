"""The four staff roles as groups. Their permissions are set from core/roles.py after
every migrate (core.apps), so that a later app extends a role by adding lines there."""

from django.db import migrations

ROLE_NAMES = ("Manager", "Finance", "Warehouse", "Customer service")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
