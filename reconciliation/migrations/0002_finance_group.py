"""The Finance group: finance staff view every payment-related record (DESIGN §9).

Permissions are normally created after all migrations; create them here first so the group
can be granted them on a fresh database.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE_APPS = ("orders", "payments", "reconciliation")


def create_finance_group(apps, schema_editor):
    for label in FINANCE_APPS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Finance")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=FINANCE_APPS, codename__startswith="view_"
        )
    )


def remove_finance_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Finance").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0002_initial"),
        ("payments", "0001_initial"),
        ("reconciliation", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_finance_group, remove_finance_group)]
