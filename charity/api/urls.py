from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import ledger_api

root = SimpleRouter()
root.register("trusts", ledger_api.TrustViewSet, basename="trust")

trust = SimpleRouter()
trust.register("accounts", ledger_api.AccountViewSet, basename="account")
trust.register("funds", ledger_api.FundViewSet, basename="fund")
trust.register("entries", ledger_api.JournalEntryViewSet, basename="entry")
trust.register("periods", ledger_api.PeriodViewSet, basename="period")
trust.register("ledger/verify", ledger_api.VerifyViewSet, basename="verify")

urlpatterns = [
    path("", include(root.urls)),
    path("trusts/<str:trust_code>/", include(trust.urls)),
]
