from django.urls import path

from . import auditor, home

urlpatterns = [
    path("", home.home, name="home"),
    path("auditor/", auditor.auditor_home, name="auditor"),
    path("disclosure/", home.disclosure, name="disclosure"),
    path("my/", home.donor_home, name="donor-home"),
]
