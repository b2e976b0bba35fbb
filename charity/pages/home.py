from django.shortcuts import redirect

from charity.roles import READ, trusts_where


def home(request):
    user = request.user
    if user.is_authenticated and trusts_where(user, READ).exists():
        return redirect("auditor")
    if user.is_authenticated:
        return redirect("donor-home")
    return redirect("disclosure")
