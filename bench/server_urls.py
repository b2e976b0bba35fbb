"""The project's URLconf plus ``/bench/ping/``: an ``APIView`` with the project's default authentication
(token) and permission (authenticated) classes that returns ``{}``. B6 measures how many of these the server
answers per second, the framework's ceiling, to set the read endpoint's figure against it."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from charity.urls import handler404, urlpatterns as project_urlpatterns  # noqa: F401 - handler404 is used by Django


class Ping(APIView):
    def get(self, request):
        return Response({})


urlpatterns = [path("bench/ping/", Ping.as_view(), name="bench-ping"), *project_urlpatterns]
