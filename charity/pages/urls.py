"""The pages, each with the HTTP methods it answers: reading pages GET (and HEAD), the office's forms also POST.
Any other method gets 405 before the view runs, for everyone (tests/api/test_authorization_matrix.py checks it)."""

from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from . import approvals, auditor, disclosure, donations, donor, home, office, today

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
    path("my/", require_safe(donor.donor_home), name="donor-home"),
    path("my/statement.pdf", require_safe(donor.my_statement), name="donor-statement"),
    path("my/gifts/<str:external_id>/", require_safe(donor.gift_detail), name="donor-gift"),
    path("my/gifts/<str:external_id>/receipt.pdf", require_safe(donor.gift_receipt), name="donor-receipt"),
]
