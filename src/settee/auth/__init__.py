"""Auth strategies behind one small protocol; no strategy performs I/O.

A strategy is a generator (``auth_flow``) the transport drives: it yields a
request, receives the response and may yield another (log in again after a
401, fetch a token first). ``protocol`` holds the protocol and request types,
``schemes`` the static schemes and the cookie session, ``iam`` IBM Cloud IAM,
``tokens`` the shared OAuth2 token life cycle and ``oauth2`` the three grants.
"""

from __future__ import annotations

from settee.auth.iam import IAMAuth
from settee.auth.oauth2 import OAuth2AuthorizationCode, OAuth2ClientCredentials, OAuth2Password
from settee.auth.protocol import Auth, AuthFlow, Request, ResponseLike, basic_auth_header
from settee.auth.schemes import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth, SessionAuth, coerce_auth
from settee.auth.tokens import OAuth2Token

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "AuthFlow",
    "BasicAuth",
    "BearerAuth",
    "IAMAuth",
    "NoAuth",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2Password",
    "OAuth2Token",
    "Request",
    "ResponseLike",
    "SessionAuth",
    "basic_auth_header",
    "coerce_auth",
]
