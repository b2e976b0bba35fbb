"""The aid side's permissions, each asked in one trust's book (``ledger.authority.require``)."""

REGISTER = "beneficiaries.register_beneficiaries"
DRAFT = "beneficiaries.draft_disbursements"
APPROVE = "beneficiaries.approve_disbursements"
PROGRAMS = "beneficiaries.manage_programs"
STOCK = "beneficiaries.manage_stock"
