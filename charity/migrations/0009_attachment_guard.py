"""The database refuses to delete an attachment once what it belongs to is posted (as the service does): a
gift or an expense (posted when recorded), a posted journal entry, a decided expense request, a disbursement with
its ledger entry."""

from django.db import migrations

POSTED = """
    {old}.donation_id IS NOT NULL OR {old}.expense_id IS NOT NULL
    OR COALESCE((SELECT status FROM ledger_journalentry WHERE id = {old}.entry_id), '') = 'posted'
    OR COALESCE((SELECT status FROM charity_expenserequest WHERE id = {old}.expense_request_id), 'draft') <> 'draft'
    OR (SELECT entry_id FROM beneficiaries_disbursement WHERE id = {old}.disbursement_id) IS NOT NULL
"""
MESSAGE = "charity: an attachment of a posted entry is never removed"

SQLITE = [f"""
CREATE TRIGGER charity_attachment_keep_posted BEFORE DELETE ON charity_attachment
WHEN {POSTED.format(old="OLD")}
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
"""]
POSTGRESQL = [f"""
CREATE FUNCTION charity_attachment_keep_posted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {POSTED.format(old="OLD")} THEN
        RAISE EXCEPTION '{MESSAGE}';
    END IF;
    RETURN OLD;
END $$
""", """
CREATE TRIGGER charity_attachment_keep_posted BEFORE DELETE ON charity_attachment
FOR EACH ROW EXECUTE FUNCTION charity_attachment_keep_posted()
"""]
DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS charity_attachment_keep_posted"],
    "postgresql": ["DROP TRIGGER IF EXISTS charity_attachment_keep_posted ON charity_attachment",
                   "DROP FUNCTION IF EXISTS charity_attachment_keep_posted()"],
}


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(vendor, []):
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    for statement in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("charity", "0008_attachments_invoice_number"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
