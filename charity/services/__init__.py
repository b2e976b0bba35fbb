"""The trust's write path; money moves only through ``ledger.services`` (and ``beneficiaries.services``)."""

from .trust import trust_create  # noqa: F401
