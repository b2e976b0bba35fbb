"""The pages, each with the HTTP methods it answers: reading pages GET (and HEAD), the office's forms also POST.
Any other method gets 405 before the view runs, for everyone (tests/api/test_authorization_matrix.py checks it)."""

from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from . import (
    aid, approvals, attachments, auditor, beneficiaries, disclosure, donations, donor, entries, expenses, home, links,
    mail, office, payables, reconciliation, settlements, today,
)

form = require_http_methods(["GET", "HEAD", "POST"])

urlpatterns = [
    path("", require_safe(home.home), name="home"),
    path("auditor/", require_safe(auditor.auditor_home), name="auditor"),
    path("disclosure/", require_safe(disclosure.disclosure), name="disclosure"),
    path("disclosure/annual-report.pdf", require_safe(disclosure.annual_report), name="disclosure-annual-report"),
    path("office/", require_safe(today.today), name="office-today"),
    path("office/donations/", require_safe(donations.donation_list), name="office-donations"),
    path("office/donations/new/", form(donations.donation_new), name="office-donation-new"),
    path("office/donations/gift/<str:external_id>/", form(donations.donation_detail), name="office-donation"),
    path("office/donations/gift/<str:external_id>/receipt.pdf", require_safe(donations.donation_receipt),
         name="office-donation-receipt"),
    path("office/donors/search/", require_safe(donations.donor_search), name="office-donor-search"),
    path("office/import/", form(office.import_file), name="office-import"),
    path("office/close/", form(office.close_month), name="office-close"),
    path("office/approvals/", form(approvals.approvals), name="office-approvals"),
    path("office/beneficiaries/", require_safe(beneficiaries.beneficiary_list), name="office-beneficiaries"),
    path("office/beneficiaries/export.csv", require_safe(beneficiaries.beneficiary_csv),
         name="office-beneficiaries-csv"),
    path("office/beneficiaries/new/", form(beneficiaries.beneficiary_new), name="office-beneficiary-new"),
    path("office/beneficiaries/<str:external_id>/", form(beneficiaries.beneficiary_detail),
         name="office-beneficiary"),
    path("office/aid/", form(aid.aid_home), name="office-aid"),
    path("office/aid/draft/", form(aid.aid_draft), name="office-aid-draft"),
    path("office/aid/batches/<str:code>/", require_safe(aid.aid_batch), name="office-aid-batch"),
    path("office/aid/batches/<str:code>/sheet.pdf", require_safe(aid.aid_sheet), name="office-aid-sheet"),
    path("office/aid/disbursements/<str:external_id>/", form(aid.aid_disbursement), name="office-aid-disbursement"),
    path("office/expenses/", require_safe(expenses.expense_list), name="office-expenses"),
    path("office/expenses/new/", form(expenses.expense_new), name="office-expense-new"),
    path("office/settlements/", form(settlements.settlement_list), name="office-settlements"),
    path("office/payables/", form(payables.payables), name="office-payables"),
    path("office/cash-count/", form(payables.cash_count), name="office-cash-count"),
    path("office/entries/new/", form(entries.entry_new), name="office-entry-new"),
    path("office/attachments/<int:pk>/", require_safe(attachments.attachment_download), name="attachment-download"),
    path("auditor/entries/<int:sequence>/", form(attachments.entry_detail), name="auditor-entry"),
    path("office/mail/", form(mail.mail_home), name="office-mail"),
    path("office/reconciliation/", require_safe(reconciliation.reconciliation_list), name="office-reconciliation"),
    path("office/reconciliation/<str:code>/", form(reconciliation.reconciliation_account),
         name="office-reconciliation-account"),
    # Opened from a link without signing in: a gift's page (the QR code on its receipt) and an invitation.
    path("g/<str:token>/", form(links.gift_public), name="gift-public"),
    path("invite/<str:token>/", form(links.invitation_accept), name="invitation-accept"),
    path("my/", require_safe(donor.donor_home), name="donor-home"),
    path("my/statement.pdf", require_safe(donor.my_statement), name="donor-statement"),
    path("my/gifts/<str:external_id>/", require_safe(donor.gift_detail), name="donor-gift"),
    path("my/gifts/<str:external_id>/receipt.pdf", require_safe(donor.gift_receipt), name="donor-receipt"),
]
