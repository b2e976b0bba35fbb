from django.urls import path

from . import auditor, disclosure, donor, home, office

urlpatterns = [
    path("", home.home, name="home"),
    path("auditor/", auditor.auditor_home, name="auditor"),
    path("disclosure/", disclosure.disclosure, name="disclosure"),
    path("disclosure/annual-report.pdf", disclosure.annual_report, name="disclosure-annual-report"),
    path("office/import/", office.import_file, name="office-import"),
    path("office/close/", office.close_month, name="office-close"),
    path("my/", donor.donor_home, name="donor-home"),
    path("my/statement.pdf", donor.my_statement, name="donor-statement"),
    path("my/gifts/<str:external_id>/", donor.gift_detail, name="donor-gift"),
    path("my/gifts/<str:external_id>/receipt.pdf", donor.gift_receipt, name="donor-receipt"),
]
