from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import (accounts, audit, batches, beneficiaries, disbursements, donations, donors, entries, expenses, funds,
               households, me, periods, programs, receipts, reconciliation, reports, stock, trusts,
               verification)

root = SimpleRouter()
root.register("trusts", trusts.TrustViewSet, basename="trust")
root.register("audit", audit.AuditLogViewSet, basename="audit-event")

trust = SimpleRouter()
trust.register("accounts", accounts.AccountViewSet, basename="account")
trust.register("funds", funds.FundViewSet, basename="fund")
trust.register("entries", entries.JournalEntryViewSet, basename="entry")
trust.register("manual-entries", entries.ManualEntryViewSet, basename="manual-entry")
trust.register("periods", periods.PeriodViewSet, basename="period")
trust.register("ledger/verify", verification.VerifyViewSet, basename="verify")
trust.register("reports", reports.ReportViewSet, basename="report")
trust.register("programs", programs.ProgramViewSet, basename="program")
trust.register("inventory/items", stock.StockItemViewSet, basename="stock-item")
trust.register("inventory/moves", stock.StockMoveViewSet, basename="stock-move")
trust.register("households", households.HouseholdViewSet, basename="household")
trust.register("beneficiaries", beneficiaries.BeneficiaryViewSet, basename="beneficiary")
trust.register("disbursements", disbursements.DisbursementViewSet, basename="disbursement")
trust.register("batches", batches.BatchViewSet, basename="batch")
trust.register("donors", donors.DonorViewSet, basename="donor")
trust.register("donations", donations.DonationViewSet, basename="donation")
trust.register("receipts", receipts.ReceiptViewSet, basename="receipt")
trust.register("expenses", expenses.ExpenseViewSet, basename="expense")
trust.register("expense-requests", expenses.ExpenseRequestViewSet, basename="expense-request")
trust.register("reconciliation", reconciliation.ReconciliationViewSet, basename="reconciliation")
trust.register("expense-payments", expenses.ExpensePaymentViewSet, basename="expense-payment")

# The donor's own corner: no trust in the URL, the donor is the signed-in user's.
me_urls = [
    path("", me.MeViewSet.as_view({"get": "retrieve"}, detail=True), name="me"),
    path("statement/", me.MeViewSet.as_view({"get": "statement"}, detail=False), name="me-statement"),
    path("donations/", me.MyDonationViewSet.as_view({"get": "list"}, detail=False), name="me-donation-list"),
    path("donations/<str:external_id>/", me.MyDonationViewSet.as_view({"get": "retrieve"}, detail=True),
         name="me-donation-detail"),
    path("donations/<str:external_id>/trace/", me.MyDonationViewSet.as_view({"get": "trace"}, detail=True),
         name="me-donation-trace"),
    path("donations/<str:external_id>/receipt.pdf", me.MyDonationViewSet.as_view({"get": "receipt"}, detail=True),
         name="me-donation-receipt"),
]

urlpatterns = [
    path("", include(root.urls)),
    path("me/", include(me_urls)),
    path("trusts/<str:trust_code>/", include(trust.urls)),
]
