import datetime as dt

import pytest

from beneficiaries.errors import InvalidIdNumber
from beneficiaries.idnumber import check_char, make_id_number, parse_id_number, validate_id_number
from beneficiaries.privacy import mask_id_number, mask_phone

VALID = "440105199303032166"  # from the sample year: a woman born 1993-03-03


def test_valid_number_gives_birth_date_and_gender():
    info = validate_id_number(VALID, birth_date=dt.date(1993, 3, 3), gender="F")
    assert (info.region, info.birth_date, info.gender) == ("440105", dt.date(1993, 3, 3), "F")


def test_check_digit_x_and_lower_case_x():
    number = next(
        make_id_number("110101", dt.date(1985, 7, 1), seq, "M") for seq in range(100)
        if make_id_number("110101", dt.date(1985, 7, 1), seq, "M").endswith("X")
    )
    assert parse_id_number(number.lower()).number == number


def test_bad_check_digit():
    bad = VALID[:17] + ("0" if VALID[17] != "0" else "1")
    with pytest.raises(InvalidIdNumber, match=r"check digit is 0, but ISO 7064 MOD 11-2 gives 6") as exc:
        parse_id_number(bad)
    assert exc.value.field == "id_number"


def test_impossible_date():
    first17 = "44010519930230216"  # 30 February
    with pytest.raises(InvalidIdNumber, match="19930230, which is not a real date"):
        parse_id_number(first17 + check_char(first17))


def test_future_birth_date_is_impossible():
    first17 = "44010520990101216"
    with pytest.raises(InvalidIdNumber, match="impossible"):
        parse_id_number(first17 + check_char(first17), today=dt.date(2026, 11, 29))


def test_birth_date_mismatch():
    with pytest.raises(InvalidIdNumber, match=r"birth date 1993-03-04 does not match .* \(1993-03-03\)") as exc:
        validate_id_number(VALID, birth_date=dt.date(1993, 3, 4))
    assert exc.value.field == "birth_date"


def test_sex_digit_mismatch():
    with pytest.raises(InvalidIdNumber, match="gender M does not agree with the identity number's sex digit") as exc:
        validate_id_number(VALID, birth_date=dt.date(1993, 3, 3), gender="M")
    assert exc.value.field == "gender"


def test_seventeen_characters():
    with pytest.raises(InvalidIdNumber, match="has 17 characters; a resident identity number has 18"):
        parse_id_number(VALID[:17])


def test_letters_inside():
    with pytest.raises(InvalidIdNumber, match="17 digits followed by a digit or X"):
        parse_id_number("44010519930303A166")


def test_messages_never_repeat_the_number():
    for text in (VALID[:17], VALID[:17] + "0", "44010519930303A166"):
        with pytest.raises(InvalidIdNumber) as exc:
            parse_id_number(text)
        assert VALID[:10] not in exc.value.message


def test_masks():
    assert mask_id_number("320582199001011234") == "32****************"
    assert mask_id_number("32058219900101123X") == "32****************"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
