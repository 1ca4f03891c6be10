"""The default clearing policy per payment method, and database triggers that refuse
any change to an issued invoice or credit note (NL-RULES §3: a correction is a credit
note). PostgreSQL refuses UPDATE and DELETE; SQLite (development) refuses UPDATE."""

from django.db import migrations

DEFAULT_CLEARING_RULES = {
    "ideal": "provider_paid",
    "card": "provider_paid",
    "paypal": "provider_paid",
    "bancontact": "provider_paid",
    "bank_transfer": "bank_statement",
    "pay_later": "credit_check",
    "pos": "immediate",
    "store_credit": "store_credit",
}
IMMUTABLE_TABLES = ["payments_invoice", "payments_invoiceline", "payments_creditnote", "payments_creditnoteline"]


def create_policies(apps, schema_editor):
    ClearingPolicy = apps.get_model("payments", "ClearingPolicy")
    existing = set(ClearingPolicy.objects.values_list("method", flat=True))
    ClearingPolicy.objects.bulk_create(
        [ClearingPolicy(method=m, rule=r) for m, r in DEFAULT_CLEARING_RULES.items() if m not in existing]
    )


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION payments_refuse_document_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'issued documents are immutable (%): issue a credit note', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql;
            """,
            params=None,
        )
        for table in IMMUTABLE_TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION payments_refuse_document_change();"
            )
    elif vendor == "sqlite":
        for table in IMMUTABLE_TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'issued documents are immutable: issue a credit note'); END;"
            )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in IMMUTABLE_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS payments_refuse_document_change();")


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_payments_documents_refunds_statements")]

    operations = [
        migrations.RunPython(create_policies, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
