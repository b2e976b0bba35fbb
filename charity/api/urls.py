from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import aid_api, ledger_api, reports_api, trust_api

root = SimpleRouter()
root.register("trusts", ledger_api.TrustViewSet, basename="trust")
root.register("audit", trust_api.AuditLogViewSet, basename="audit-event")

trust = SimpleRouter()
trust.register("accounts", ledger_api.AccountViewSet, basename="account")
trust.register("funds", ledger_api.FundViewSet, basename="fund")
trust.register("entries", ledger_api.JournalEntryViewSet, basename="entry")
trust.register("manual-entries", ledger_api.ManualEntryViewSet, basename="manual-entry")
trust.register("periods", ledger_api.PeriodViewSet, basename="period")
trust.register("ledger/verify", ledger_api.VerifyViewSet, basename="verify")
trust.register("reports", reports_api.ReportViewSet, basename="report")
trust.register("programs", aid_api.ProgramViewSet, basename="program")
trust.register("inventory/items", aid_api.StockItemViewSet, basename="stock-item")
trust.register("inventory/moves", aid_api.StockMoveViewSet, basename="stock-move")
trust.register("households", aid_api.HouseholdViewSet, basename="household")
trust.register("beneficiaries", aid_api.BeneficiaryViewSet, basename="beneficiary")
trust.register("disbursements", aid_api.DisbursementViewSet, basename="disbursement")
trust.register("batches", aid_api.BatchViewSet, basename="batch")
trust.register("donors", trust_api.DonorViewSet, basename="donor")
trust.register("donations", trust_api.DonationViewSet, basename="donation")
trust.register("receipts", trust_api.ReceiptViewSet, basename="receipt")
trust.register("expenses", trust_api.ExpenseViewSet, basename="expense")
trust.register("expense-requests", trust_api.ExpenseRequestViewSet, basename="expense-request")

# The donor's own corner: no trust in the URL, the donor is the signed-in user's.
me = trust_api.MeViewSet
mine = trust_api.MyDonationViewSet
me_urls = [
    path("", me.as_view({"get": "retrieve"}, detail=True), name="me"),
    path("statement/", me.as_view({"get": "statement"}, detail=False), name="me-statement"),
    path("donations/", mine.as_view({"get": "list"}, detail=False), name="me-donation-list"),
    path("donations/<str:external_id>/", mine.as_view({"get": "retrieve"}, detail=True), name="me-donation-detail"),
    path("donations/<str:external_id>/trace/", mine.as_view({"get": "trace"}, detail=True),
         name="me-donation-trace"),
    path("donations/<str:external_id>/receipt.pdf", mine.as_view({"get": "receipt"}, detail=True),
         name="me-donation-receipt"),
]

urlpatterns = [
    path("", include(root.urls)),
    path("me/", include(me_urls)),
    path("trusts/<str:trust_code>/", include(trust.urls)),
]
