from ledger.services import system_user
import datetime as dt

import pytest

from beneficiaries.errors import DuplicateBeneficiary, GuardianRequired, InvalidIdNumber, RegistryError
from beneficiaries.idnumber import make_id_number
from beneficiaries.models import BeneficiaryHistory, Household, PiiAccessLog
from beneficiaries.privacy import beneficiary_pii
from beneficiaries.selectors import household_list, registry_rows
from beneficiaries.services import beneficiary_exit, beneficiary_register, beneficiary_update, household_set_mother
from beneficiaries.services.registry import age_on
from django.utils import timezone

from .conftest import make_aid, register


def test_register_mother_and_child_make_a_household(aid, officer, mother, child):
    household = Household.objects.get(book=aid.book, external_id="HH-1")
    assert household.mother == mother
    assert child.guardian == mother
    [listed] = household_list(book=aid.book)
    assert [m.external_id for m in listed.members.all()] == ["BEN-1", "BEN-2"]
    assert mother.history.get().action == "created"


def test_same_person_cannot_be_registered_twice(aid, officer, mother):
    """An ordinary officer learns that the number is registered, not who has it; the lookup is logged all the
    same, although the refused registration rolled everything else back."""
    with pytest.raises(DuplicateBeneficiary) as exc:
        beneficiary_register(
            book=aid.book, external_id="BEN-9", name="另一个名字", id_number=mother.id_number,
            birth_date=mother.birth_date, user=officer,
        )
    assert exc.value.message == "this identity number is already registered in this trust"
    assert "BEN-1" not in exc.value.message and mother.name not in exc.value.message
    assert mother.id_number not in exc.value.message
    assert exc.value.field == "id_number"
    log = PiiAccessLog.objects.get()
    assert (log.user, log.beneficiary, log.purpose) == (officer, mother, "registration")


def test_a_duplicate_names_the_person_to_a_pii_holder(aid, mother, pii_viewer):
    with pytest.raises(DuplicateBeneficiary) as exc:
        beneficiary_register(
            book=aid.book, external_id="BEN-9", name="另一个名字", id_number=mother.id_number,
            birth_date=mother.birth_date, user=pii_viewer,
        )
    assert exc.value.message == "this identity number is already registered as beneficiary BEN-1"
    assert PiiAccessLog.objects.get().user == pii_viewer


def test_changing_to_a_registered_number_is_a_logged_duplicate(aid, officer, mother):
    other = register(aid, officer, "BEN-5", birth=mother.birth_date, seq=5)
    with pytest.raises(DuplicateBeneficiary, match="already registered in this trust"):
        beneficiary_update(beneficiary=other, user=officer, id_number=mother.id_number)
    assert PiiAccessLog.objects.get().beneficiary == mother


def test_same_person_may_be_registered_with_another_trust(aid, officer, mother):
    other = make_aid("AID2")
    twin = beneficiary_register(
        book=other.book, external_id="BEN-1", name=mother.name, id_number=mother.id_number,
        birth_date=mother.birth_date, user=officer,
    )
    assert twin.book != mother.book


def test_minor_needs_a_guardian(aid, officer):
    birth = timezone.localdate() - dt.timedelta(days=12 * 366)
    aged = age_on(birth, timezone.localdate())
    with pytest.raises(GuardianRequired, match=rf"a minor \(aged {aged}\) needs a guardian"):
        register(aid, officer, "BEN-3", birth=birth, seq=3)


def test_guardian_must_be_an_adult(aid, officer, mother, child):
    with pytest.raises(RegistryError, match="guardian BEN-2 is a minor"):
        register(aid, officer, "BEN-3", birth=dt.date(2016, 1, 1), seq=3, guardian=child)


def test_invalid_identity_numbers_refused_at_registration(aid, officer):
    with pytest.raises(InvalidIdNumber, match="does not match"):
        beneficiary_register(
            book=aid.book, external_id="B", name="x", birth_date=dt.date(1990, 1, 2), user=officer,
            id_number=make_id_number("320582", dt.date(1990, 1, 1), 1, "F"),
        )
    with pytest.raises(InvalidIdNumber, match="sex digit"):
        beneficiary_register(
            book=aid.book, external_id="B", name="x", birth_date=dt.date(1990, 1, 1), gender="M", user=officer,
            id_number=make_id_number("320582", dt.date(1990, 1, 1), 1, "F"),
        )


def test_consent_of_a_child_is_given_by_the_guardian(aid, officer, mother):
    kid = register(aid, officer, "BEN-3", birth=dt.date(2015, 1, 1), seq=3, guardian=mother,
                   consent_date=dt.date(2026, 3, 1))
    assert kid.consent_given_by == mother.name
    with pytest.raises(RegistryError, match="consent is given by the guardian"):
        register(aid, officer, "BEN-4", birth=dt.date(2016, 1, 1), seq=4, guardian=mother,
                 consent_date=dt.date(2026, 3, 1), consent_given_by="someone else")


def test_update_keeps_history_with_pii_masked(aid, officer, both, mother):
    beneficiary_update(beneficiary=mother, user=both, phone="13900001111", community="新社区")
    change = BeneficiaryHistory.objects.filter(beneficiary=mother, action="updated").get()
    assert change.changed_by == both
    assert change.changes["phone"] == ["138****5678", "139****1111"]
    assert change.changes["community"] == ["", "新社区"]
    mother.refresh_from_db()
    assert mother.phone == "13900001111"
    with pytest.raises(InvalidIdNumber):
        beneficiary_update(beneficiary=mother, user=both, birth_date=dt.date(1990, 5, 18))


def test_exit(aid, officer, mother):
    beneficiary_exit(beneficiary=mother, user=officer, date=dt.date(2026, 6, 1), reason="moved away")
    mother.refresh_from_db()
    assert mother.status == "exited"
    with pytest.raises(RegistryError, match="already exited"):
        beneficiary_exit(beneficiary=mother, user=officer, date=dt.date(2026, 6, 2))


def test_household_mother_must_be_an_adult_woman_member(aid, officer, mother, child):
    household = mother.household
    with pytest.raises(RegistryError, match="not an adult woman"):
        household_set_mother(user=system_user(), household=household, mother=child)


def test_pii_masked_for_a_user_without_the_permission(aid, officer, mother):
    pii = beneficiary_pii(beneficiary=mother, user=officer)
    assert pii.masked
    assert pii.id_number == mother.id_number[:2] + "*" * 16
    assert pii.birth == str(mother.birth_date.year)
    assert pii.phone == "138****5678"
    assert not PiiAccessLog.objects.exists()
    rows = registry_rows(book=aid.book, user=officer)
    assert rows[0]["id_number"] == pii.id_number and rows[0]["phone"] == "138****5678"


def test_pii_unmasked_for_the_permission_and_logged(aid, mother, pii_viewer):
    pii = beneficiary_pii(beneficiary=mother, user=pii_viewer, purpose="home visit")
    assert not pii.masked and pii.id_number == mother.id_number and pii.phone == "13812345678"
    log = PiiAccessLog.objects.get()
    assert (log.user, log.beneficiary, log.purpose) == (pii_viewer, mother, "home visit")
    registry_rows(book=aid.book, user=pii_viewer)
    assert PiiAccessLog.objects.count() == 2
