from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import ledger_api, reports_api

root = SimpleRouter()
root.register("trusts", ledger_api.TrustViewSet, basename="trust")

trust = SimpleRouter()
trust.register("accounts", ledger_api.AccountViewSet, basename="account")
trust.register("funds", ledger_api.FundViewSet, basename="fund")
trust.register("entries", ledger_api.JournalEntryViewSet, basename="entry")
trust.register("periods", ledger_api.PeriodViewSet, basename="period")
trust.register("ledger/verify", ledger_api.VerifyViewSet, basename="verify")
trust.register("reports", reports_api.ReportViewSet, basename="report")

urlpatterns = [
    path("", include(root.urls)),
    path("trusts/<str:trust_code>/", include(trust.urls)),
]
