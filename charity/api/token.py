"""``POST /api/v1/auth/token/``: DRF's token view, throttled.

A password guessed here is a password guessed at the login page: django-axes counts the failures of both, and
this view is also rate limited per client address (per user when already signed in) under the ``token`` scope,
``API_THROTTLE_TOKEN`` (default ``10/min``). Past it, 429 with the API's JSON error body and ``Retry-After``.
"""

from rest_framework.authtoken.views import ObtainAuthToken as _ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class ObtainAuthToken(_ObtainAuthToken):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


obtain_auth_token = ObtainAuthToken.as_view()
