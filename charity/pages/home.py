from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render


def home(request):
    user = request.user
    if user.is_authenticated and user.has_perm("charity.read_books"):
        return redirect("auditor")
    if user.is_authenticated:
        return redirect("donor-home")
    return redirect("disclosure")


def disclosure(request):
    return render(request, "charity/disclosure.html", {})


@login_required
def donor_home(request):
    return render(request, "charity/donor_home.html", {})
