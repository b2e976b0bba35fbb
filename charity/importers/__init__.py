"""The kinds of ``import_csv`` (docs/formats.md). Each kind is an ``ledger.csvio.Importer`` subclass.

The trust's own kinds live here; ``beneficiaries`` and ``disbursements`` live in ``beneficiaries.importers``
(the aid side owns its records). ``KINDS`` lists them in the order a whole year should be loaded.
"""

from importlib import import_module

KIND_PATHS = {
    "funds": "charity.importers.funds.FundImporter",
    "donors": "charity.importers.donors.DonorImporter",
    "donations": "charity.importers.donations.DonationImporter",
    "beneficiaries": "beneficiaries.importers.BeneficiaryImporter",
    "expenses": "charity.importers.expenses.ExpenseImporter",
    "payments": "charity.importers.payments.PaymentImporter",
    "disbursements": "beneficiaries.importers.DisbursementImporter",
    "refunds": "charity.importers.refunds.RefundImporter",
    "settlements": "charity.importers.settlements.SettlementImporter",
    "official-receipts": "charity.importers.official_receipts.OfficialReceiptImporter",
}
KINDS = list(KIND_PATHS)


def importer_class(kind: str):
    module_path, _, name = KIND_PATHS[kind].rpartition(".")
    return getattr(import_module(module_path), name)
