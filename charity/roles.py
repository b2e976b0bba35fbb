"""The roles (Django groups) and their exact permissions. ``ensure_roles`` runs after every migrate.

finance officer  records donations, expenses, refunds and imports; registers beneficiaries; drafts disbursements
approver         approves and pays disbursements (never ones they drafted: the services refuse), closes periods
auditor          reads everything and downloads every report; changes nothing
donor            no permission at all: donor-facing views show only the signed-in donor's own records
administrator    every permission
Seeing beneficiaries' identity numbers and phones unmasked needs ``beneficiaries.view_pii``, which no role but
the administrator has; grant it to a person explicitly.
"""

from django.contrib.auth.models import Group, Permission

OFFICER = "finance_officer"
APPROVER = "approver"
AUDITOR = "auditor"
DONOR = "donor"
ADMINISTRATOR = "administrator"

ROLE_PERMISSIONS = {
    OFFICER: [
        "charity.read_books", "charity.record_transactions", "charity.draft_disbursements",
        "charity.post_journal_entries",
    ],
    APPROVER: ["charity.read_books", "charity.approve_disbursements", "charity.close_periods"],
    AUDITOR: ["charity.read_books", "charity.view_audit_log"],
    DONOR: [],
}


def _permission(dotted: str) -> Permission | None:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()


def ensure_roles(**kwargs) -> None:
    for role, dotted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [p for p in (_permission(d) for d in dotted) if p is not None]
        if role == AUDITOR:
            # Reads everything, in the admin too: every model's view permission, but never beneficiaries' PII.
            wanted += list(Permission.objects.filter(codename__startswith="view_").exclude(codename="view_pii"))
        group.permissions.set(wanted)
    admin, _ = Group.objects.get_or_create(name=ADMINISTRATOR)
    admin.permissions.set(Permission.objects.all())
