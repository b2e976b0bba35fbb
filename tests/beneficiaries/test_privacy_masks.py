"""What a reader without ``beneficiaries.view_pii`` sees leaves at least 10,000 candidates for the number.

The candidates are enumerated, not computed from a formula: every valid number (the region assumed known, as
if the district named it exactly; every birth date; every sequence; its check character) is put through the
same masks the application uses, and counted when it shows exactly what the real person's record shows.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from beneficiaries.idnumber import check_char, make_id_number, parse_id_number
from beneficiaries.models import Beneficiary
from beneficiaries.privacy import birth_dates_shown_as, candidates, mask_id_number, masked_pii, shown_birth

ENOUGH = 10_000


def consistent_numbers(*, region: str, shown: dict, today: dt.date, stop: int = ENOUGH) -> int:
    """Valid numbers of ``region`` that a reader could not tell from the person behind ``shown`` (up to
    ``stop``): same masked number, same birth as shown, same gender."""
    start, end = birth_dates_shown_as(shown["birth"], today=today)
    # Search a wider window than the shown text says, so that a mask which shows less than it claims still
    # counts right, and one that shows more is caught by the comparisons below.
    day, last = max(start - dt.timedelta(days=400), dt.date(1900, 1, 1)), min(end + dt.timedelta(days=400), today)
    found = 0
    while day <= last:
        if shown_birth(day, today=today) == shown["birth"]:
            for sequence in range(1000):
                first17 = f"{region}{day:%Y%m%d}{sequence:03d}"
                number = first17 + check_char(first17)
                gender = "M" if sequence % 2 else "F"
                if gender == shown["gender"] and mask_id_number(number) == shown["id_number"]:
                    found += 1
                    if found >= stop:
                        return found
        day += dt.timedelta(days=1)
    return found


regions = st.sampled_from(["440105", "320582", "110101", "650102", "540102", "810000"])


@settings(max_examples=30, deadline=None)
@given(
    region=regions,
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)),
    today_offset=st.integers(min_value=0, max_value=800),
    sequence=st.integers(min_value=0, max_value=99),
    gender=st.sampled_from(["F", "M"]),
    district=st.sampled_from(["海珠区", "吴中区", ""]),
    community=st.sampled_from(["和平社区", "石路", ""]),
)
def test_an_auditor_sees_too_little_to_rebuild_the_number(region, birth, today_offset, sequence, gender, district,
                                                          community):
    # Born today, this week, or years ago, 1 January included; "today" is never before this software was.
    today = max(birth + dt.timedelta(days=today_offset), dt.date(2024, 1, 1))
    number = make_id_number(region, birth, sequence, gender)
    info = parse_id_number(number, today=today)
    person = Beneficiary(id_number=number, birth_date=info.birth_date, gender=info.gender, district=district,
                         community=community, phone="13812345678")
    pii = masked_pii(person, today=today)
    shown = {"id_number": pii.id_number, "birth": pii.birth, "gender": person.gender}
    assert number not in repr(pii) and info.birth_date.isoformat() not in repr(pii)
    count = consistent_numbers(region=region, shown=shown, today=today)
    assert count >= ENOUGH, (shown, count)
    assert candidates(masked_id_number=pii.id_number, shown_birth_text=pii.birth, gender=person.gender,
                      today=today) >= 182_500


def test_early_january_is_not_three_days():
    """Born on 2 January, seen on 3 January: "born this year" would leave 2 dates x 500; two years leave 367."""
    today = dt.date(2027, 1, 3)
    number = make_id_number("440105", dt.date(2027, 1, 2), 1, "F")
    shown = {"id_number": mask_id_number(number), "birth": shown_birth(dt.date(2027, 1, 2), today=today),
             "gender": "F"}
    assert shown["birth"] == "2026-2027"
    assert consistent_numbers(region="440105", shown=shown, today=today, stop=10**9) == 368 * 500


def test_the_old_mask_was_rebuildable():
    """The mask this replaced (first 4 and last 4, full birth date) left a handful: the control case."""
    number = make_id_number("440105", dt.date(1990, 5, 17), 1, "F")
    old = number[:4] + "*" * 10 + number[-4:]
    count = 0
    for sequence in range(1000):
        first17 = f"440105{dt.date(1990, 5, 17):%Y%m%d}{sequence:03d}"
        candidate = first17 + check_char(first17)
        if candidate[:4] + "*" * 10 + candidate[-4:] == old and sequence % 2 == 0:
            count += 1
    assert count == 1
