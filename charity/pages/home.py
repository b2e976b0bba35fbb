from django.shortcuts import redirect

from charity.roles import APPROVE_ENTRIES, READ, RECORD, trusts_where


def home(request):
    user = request.user
    if user.is_authenticated and trusts_where(user, RECORD).exists():
        return redirect("office-today")  # the finance officer's start page
    if user.is_authenticated and trusts_where(user, APPROVE_ENTRIES).exists():
        return redirect("office-approvals")  # the approver's start page: what waits for her
    if user.is_authenticated and trusts_where(user, READ).exists():
        return redirect("auditor")
    if user.is_authenticated:
        return redirect("donor-home")
    return redirect("disclosure")
