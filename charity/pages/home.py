from django.shortcuts import redirect


def home(request):
    user = request.user
    if user.is_authenticated and user.has_perm("charity.read_books"):
        return redirect("auditor")
    if user.is_authenticated:
        return redirect("donor-home")
    return redirect("disclosure")
