"""API token authentication in one lean query.

DRF's ``TokenAuthentication`` looks the key up with ``Token.objects.select_related("user").get(key=...)``, which
the ORM compiles afresh on every request: about 1.3 ms of CPU, ten times the query itself, on every API call
(BENCHMARKS.md finding 5: a cached report is a few ms of work in all). This one sends the same lookup as SQL
through ``User.objects.raw`` (the model's own column conversions still apply) and answers exactly as DRF does:
401 for an unknown key or an inactive user, ``WWW-Authenticate: Token`` otherwise.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


@functools.cache
def _user_by_token_sql() -> str:
    from rest_framework.authtoken.models import Token

    users, tokens = get_user_model()._meta, Token._meta
    return (f"SELECT u.* FROM {users.db_table} u JOIN {tokens.db_table} t"
            f" ON t.{tokens.get_field('user').column} = u.{users.pk.column} WHERE t.{tokens.pk.column} = %s")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        users = list(get_user_model().objects.raw(_user_by_token_sql(), [key]))
        if not users:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # ``request.auth``: the token with its key and user; ``created`` loads on first access (deferred).
        token = self.get_model().from_db(None, ["key", "user_id"], [key, user.pk])
        token.user = user
        return user, token
