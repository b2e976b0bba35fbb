"""Setting a trust's spending rule (charity.spending). An administrator's act: the rule comes from the trust deed
or from the organisation's status, not from the people who keep the books (officers, approvers) or read them
(auditors); none of the roles of charity/roles.py holds ``charity.change_trust``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from ledger.authority import require

from .. import spending
from ..errors import TrustError
from ..models import SpendingPolicy, Trust

UNSET = object()


def _ratio(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, (float, bool)):
        raise TrustError(f"{field} must be a decimal ratio (0.70), not {type(value).__name__}", field=field)
    try:
        value = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise TrustError(f"{field}: {value!r} is not a decimal ratio such as 0.70", field=field) from None
    if not value.is_finite() or value < 0 or value > 1:
        raise TrustError(f"{field}: {value} is not a ratio between 0 and 1 (0.70 for 70%)", field=field)
    if value != value.quantize(Decimal("0.0001")):
        raise TrustError(f"{field}: {value} has more than four decimal places", field=field)
    return value


def _amount(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, (float, bool)):
        raise TrustError(f"{field} must be a decimal amount, not {type(value).__name__}", field=field)
    try:
        value = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise TrustError(f"{field}: {value!r} is not a decimal amount", field=field) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")) or value >= 10 ** 12:
        raise TrustError(f"{field}: {value} is not an amount of CNY with at most two places", field=field)
    return value


@transaction.atomic
def spending_policy_set(*, trust: Trust, preset: str | None, user, base: str = "", floor=UNSET, cap=UNSET,
                        count_endowment_principal=UNSET, count_in_kind=UNSET, management_exempt_below=UNSET,
                        deed_reference: str = "") -> SpendingPolicy | None:
    """Set the trust's spending rule to ``preset`` (charity.spending.PRESETS), or remove it (``preset=None``: the
    reports then flag nothing). Fields left out (or empty) take the preset's defaults; the deed preset needs its
    floor, cap and deed reference; the foundation presets' floor and cap are the rules' own and cannot differ. Administrators only (the admin's requests are in the audit log;
    the policy row keeps who set it last and when)."""
    require(user, "charity.change_trust", trust)
    if preset in (None, ""):
        SpendingPolicy.objects.filter(trust=trust).delete()
        return None
    definition = spending.PRESETS.get(preset)
    if definition is None:
        raise TrustError(f"preset {preset!r} is not one of {', '.join(spending.PRESETS)}", field="preset")
    base = base or definition.bases[0]
    if base not in definition.bases:
        raise TrustError(f"base {base!r} is not allowed for {preset} (allowed: {', '.join(definition.bases)})",
                         field="base")
    if definition.tiered:
        if floor not in (UNSET, None, "") or cap not in (UNSET, None, ""):
            raise TrustError(f"{preset} takes its floor and cap from the tiers of net assets", field="floor")
        floor_value = cap_value = None
    else:
        floor_value = definition.floor if floor in (UNSET, None, "") else _ratio(floor, "floor")
        cap_value = definition.cap if cap in (UNSET, None, "") else _ratio(cap, "cap")
        # A preset's own floor and cap are the rule's (the deed preset has none: they are the deed's).
        for name, value, fixed in (("floor", floor_value, definition.floor), ("cap", cap_value, definition.cap)):
            if fixed is not None and value != fixed:
                raise TrustError(f"{preset}: the {name} is fixed by the rules at {fixed}", field=name)
        if definition.floor is None and floor_value is None:
            raise TrustError("the trust deed's charitable-spending floor is required (0.70 for 70%)", field="floor")
        if definition.cap is None and cap_value is None:
            raise TrustError("the trust deed's management-cost cap is required (0.10 for 10%)", field="cap")
    deed_reference = (deed_reference or "").strip()
    if len(deed_reference) > 500 or "\x00" in deed_reference:
        raise TrustError("a deed reference is at most 500 characters", field="deed_reference")
    if preset == spending.CHARITY_TRUST_DEED and not deed_reference:
        raise TrustError("name the clause of the trust deed that sets the rule", field="deed_reference")
    values = {
        "preset": preset, "base": base, "floor": floor_value, "cap": cap_value,
        "count_endowment_principal": definition.count_endowment_principal
        if count_endowment_principal is UNSET else bool(count_endowment_principal),
        "count_in_kind": definition.count_in_kind if count_in_kind is UNSET else bool(count_in_kind),
        "management_exempt_below": definition.management_exempt_below
        if management_exempt_below in (UNSET, None, "") else _amount(management_exempt_below, "management_exempt_below"),
        "deed_reference": deed_reference,
        "updated_by": user if getattr(user, "pk", None) else None,
    }
    policy, _created = SpendingPolicy.objects.update_or_create(trust=trust, defaults=values)
    return policy
