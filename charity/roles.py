"""The roles and their exact permissions. A role is held in one trust through a ``Membership``.

finance officer  records donations, expenses, refunds and imports; registers beneficiaries; drafts disbursements
                 and manual journal entries
approver         approves and pays disbursements and approves manual entries (never ones they drafted: the
                 services refuse), closes periods
auditor          reads the books, every report and the audit log of the trust; changes nothing
administrator    every permission in every trust but ``view_pii`` (the Django group ``administrator``; a superuser
                 holds everything); the only role that spans trusts, and the only one that may enter the admin
Donors hold no role: donor-facing views show only the signed-in donor's own records.

Donors' identity numbers and credit codes (``view_donor_identity``) are seen unmasked by the finance officer, who
records them and asks the co-trustee for the official receipts, and by the auditor, who matches official
receipts to donors; the approver sees them masked. The donor sees her own on her receipts.

Seeing beneficiaries' identity numbers and phones unmasked needs ``beneficiaries.view_pii``, which no role holds,
the administrator neither; grant it to a person by name. A permission granted to a user directly (or through a
group other than the roles) counts in every trust: only an administrator can grant one.
"""

from django.contrib.auth.models import Group, Permission

from .models.trust import Membership, Role

OFFICER = Role.OFFICER.value
APPROVER = Role.APPROVER.value
AUDITOR = Role.AUDITOR.value
DONOR = "donor"
ADMINISTRATOR = "administrator"

READ = "charity.read_books"
RECORD = "charity.record_transactions"
DRAFT_ENTRIES = "charity.post_journal_entries"
APPROVE_ENTRIES = "charity.approve_journal_entries"
APPROVE_EXPENSES = "charity.approve_expenses"
AUDIT_LOG = "charity.view_audit_log"
DONOR_IDENTITY = "charity.view_donor_identity"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    OFFICER: frozenset({
        READ, RECORD, DRAFT_ENTRIES, DONOR_IDENTITY,
        "beneficiaries.register_beneficiaries", "beneficiaries.draft_disbursements", "beneficiaries.manage_stock",
        "ledger.post_entries", "ledger.manage_funds",
    }),
    APPROVER: frozenset({
        READ, APPROVE_ENTRIES, APPROVE_EXPENSES,
        "beneficiaries.approve_disbursements", "beneficiaries.manage_programs",
        "ledger.post_entries", "ledger.close_periods",
    }),
    AUDITOR: frozenset({READ, AUDIT_LOG, DONOR_IDENTITY}),
}


def is_administrator(user) -> bool:
    return bool(
        user is not None and user.is_active and user.is_authenticated
        and (user.is_superuser or any(g.name == ADMINISTRATOR for g in user.groups.all()))
    )


def ensure_roles(**kwargs) -> None:
    """After every migrate: the administrator group holds every permission. Roles are memberships, not groups;
    the groups of the old global roles are emptied of permissions so that nobody holds a role everywhere."""
    admin, _ = Group.objects.get_or_create(name=ADMINISTRATOR)
    # Every permission but PII: an administrator sees beneficiaries masked unless granted view_pii by name.
    admin.permissions.set(Permission.objects.exclude(content_type__app_label="beneficiaries", codename="view_pii"))
    for name in (OFFICER, APPROVER, AUDITOR, DONOR):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.clear()


def trusts_where(user, perm: str):
    """The trusts in which ``user`` holds ``perm``: every trust for a global grant (the administrator's), else
    those where one of the user's memberships gives a role that holds it."""
    from .models import Trust

    if user is None or not user.is_authenticated or not user.is_active:
        return Trust.objects.none()
    if user.has_perm(perm):  # asked without an object: only a global grant answers
        return Trust.objects.all()
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
    return Trust.objects.filter(pk__in=Membership.objects.filter(user=user, role__in=roles).values("trust_id"))
