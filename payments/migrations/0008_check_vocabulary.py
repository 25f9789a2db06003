"""One word for an active query of the channel: a check.

Renames only: the rows, the index and the permissions granted to the groups stay as they are.
"""

import django.db.models.deletion
from django.db import migrations, models

# (old codename, new codename, new name) of the permissions that follow the renames.
PERMISSIONS = [
    ("recheck_payment", "requery_payment", "Can check a payment at its channel now"),
    *(
        (f"{action}_paymentcheck", f"{action}_paymentquery", f"Can {action} payment check")
        for action in ("add", "change", "delete", "view")
    ),
]


def rename_permissions(apps, schema_editor, *, forward=True):
    Permission = apps.get_model("auth", "Permission")
    for new, old, name in PERMISSIONS:
        source, target = (old, new) if forward else (new, old)
        Permission.objects.filter(content_type__app_label="payments", codename=source).update(
            codename=target, name=name
        )


def rename_permissions_back(apps, schema_editor):
    rename_permissions(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("payments", "0007_channel_refs"),
        # the groups are granted the permissions under their old names there: rename after it
        ("reconciliation", "0003_backoffice_stuck_payments_groups"),
    ]

    operations = [
        migrations.RenameModel(old_name="PaymentQuery", new_name="PaymentCheck"),
        migrations.AlterModelOptions(
            name="paymentcheck",
            options={"ordering": ["asked_at", "id"], "verbose_name_plural": "payment checks"},
        ),
        migrations.AlterField(
            model_name="paymentcheck",
            name="payment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="checks",
                to="payments.payment",
            ),
        ),
        migrations.AlterModelOptions(
            name="payment",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("recheck_payment", "Can check a payment at its channel now"),
                    ("close_payment", "Can close a payment at its channel"),
                    ("refund_payment", "Can refund a payment"),
                ],
            },
        ),
        migrations.RemoveIndex(model_name="payment", name="payment_scheduled_check"),
        migrations.RenameField(
            model_name="payment", old_name="query_attempts", new_name="check_attempts"
        ),
        migrations.RenameField(
            model_name="payment", old_name="next_query_at", new_name="next_check_at"
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                condition=models.Q(("next_check_at__isnull", False)),
                fields=["next_check_at"],
                name="payment_scheduled_check",
            ),
        ),
        migrations.RunPython(rename_permissions, rename_permissions_back),
    ]
