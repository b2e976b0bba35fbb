from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import aid_api, ledger_api, reports_api

root = SimpleRouter()
root.register("trusts", ledger_api.TrustViewSet, basename="trust")

trust = SimpleRouter()
trust.register("accounts", ledger_api.AccountViewSet, basename="account")
trust.register("funds", ledger_api.FundViewSet, basename="fund")
trust.register("entries", ledger_api.JournalEntryViewSet, basename="entry")
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

urlpatterns = [
    path("", include(root.urls)),
    path("trusts/<str:trust_code>/", include(trust.urls)),
]
