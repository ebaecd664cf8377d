"""IBM Cloudant: python-cloudant's ``Cloudant`` client on top of :class:`~settee.client.CouchDB`.

``Cloudant(user, password, account="acct")`` talks to
``https://acct.cloudant.com``; ``Cloudant.iam("acct", api_key)`` authenticates
with an IBM Cloud IAM API key (:class:`~settee.auth.IAMAuth`);
``Cloudant.bluemix(os.environ["VCAP_SERVICES"])`` reads Cloud Foundry
credentials. Beyond CouchDB it reaches Cloudant's account endpoints under
``/_api/v2``: CORS configuration, API keys, billing and usage reports and
shared databases. The module-level context managers :func:`cloudant`,
:func:`cloudant_iam` and :func:`cloudant_bluemix` connect on entry and
disconnect on exit, as in python-cloudant.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from settee._validate import check_int
from settee.auth.iam import DEFAULT_IAM_TOKEN_URL, IAMAuth
from settee.auth.protocol import Auth
from settee.client import CouchDB
from settee.http.transport import Transport
from settee.urls import split_credentials

__all__ = ["Cloudant", "cloudant", "cloudant_bluemix", "cloudant_iam"]

#: The Cloud Foundry service name of Cloudant in ``VCAP_SERVICES``.
DEFAULT_SERVICE_NAME = "cloudantNoSQLDB"


def _service_url(account: str | None, url: str | None) -> str:
    if account is not None:
        if not isinstance(account, str) or not account or "/" in account or "." in account:
            raise ValueError(f"invalid Cloudant account name {account!r}")
        return f"https://{account}.cloudant.com"
    if url is None:
        raise ValueError("Cloudant needs an account name or a url")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    return url


def _year_month(year: Any, month: Any) -> tuple[str, ...]:
    """The ``/{year}/{month}`` URL suffix for usage reports; checked before any request."""
    if year is None and month is None:
        return ()
    if year is None or month is None:
        raise ValueError("give both year and month, or neither")
    check_int("year", year, 1)
    if not 1 <= check_int("month", month, 1) <= 12:
        raise ValueError(f"month must be between 1 and 12, not {month}")
    return (str(year), str(month))


class Cloudant(CouchDB):
    """A Cloudant account: a :class:`~settee.client.CouchDB` client plus Cloudant's endpoints.

    ``Cloudant(cloudant_user, auth_token, account=None, url=None,
    x_cloudant_user=None, **kwargs)``: ``account`` makes the URL
    ``https://{account}.cloudant.com`` (it wins over ``url``);
    ``x_cloudant_user`` is sent as the ``X-Cloudant-User`` header, only when
    the service is given by ``url`` (as python-cloudant documents). The
    other keywords are :class:`~settee.client.CouchDB`'s (``admin_party``,
    ``connect``, ``auto_renew``, ``use_basic_auth``, ``timeout`` and
    transport options) plus ``use_iam=True`` (``auth_token`` is then an IAM
    API key; ``iam_client_id``, ``iam_client_secret``, ``iam_token_url``
    tune :class:`~settee.auth.IAMAuth`) and ``auth=`` (any strategy, which
    then replaces the user/token pair). ``ValueError`` without an account
    or url.
    """

    def __init__(
        self,
        cloudant_user: str | None,
        auth_token: str | None,
        account: str | None = None,
        url: str | None = None,
        x_cloudant_user: str | None = None,
        *,
        use_iam: bool = False,
        iam_client_id: str | None = None,
        iam_client_secret: str | None = None,
        iam_token_url: str = DEFAULT_IAM_TOKEN_URL,
        auth: Auth | None = None,
        connect: bool = False,
        **kwargs: Any,
    ) -> None:
        service_url = _service_url(account, url)
        headers: dict[str, str] = dict(kwargs.pop("headers", None) or {})
        if x_cloudant_user is not None:
            if not isinstance(x_cloudant_user, str) or not x_cloudant_user:
                raise TypeError("x_cloudant_user must be a non-empty str")
            if account is None:
                headers["X-Cloudant-User"] = x_cloudant_user
        if headers:
            kwargs["headers"] = headers
        strategy: Auth | None = auth
        if use_iam:
            if auth is not None:
                raise TypeError(
                    "give use_iam=True (with auth_token the API key) or auth=, not both"
                )
            if not isinstance(auth_token, str) or not auth_token:
                raise TypeError("use_iam=True needs the IAM API key as auth_token")
            strategy = IAMAuth(
                auth_token,
                token_url=iam_token_url,
                client_id=iam_client_id,
                client_secret=iam_client_secret,
            )
        if strategy is None:
            super().__init__(cloudant_user, auth_token, url=service_url, **kwargs)
        else:
            if kwargs.get("admin_party") or kwargs.get("use_basic_auth"):
                raise TypeError("admin_party/use_basic_auth cannot be combined with IAM or auth=")
            kwargs.pop("admin_party", None)
            kwargs.pop("use_basic_auth", None)
            kwargs.pop("auto_renew", None)  # IAM tokens always renew
            # CouchDB's constructor chooses among user/password strategies;
            # start without credentials, then install the chosen strategy
            # before anything is sent.
            super().__init__(None, None, True, url=service_url, **kwargs)
            self._transport().auth = strategy
        self.cloudant_user = cloudant_user
        if connect:
            self.connect()

    def _transport(self) -> Transport:
        return self.server_session.transport("Cloudant")

    # -- constructors ------------------------------------------------------------
    @classmethod
    def iam(cls, account_name: str | None, api_key: str, **kwargs: Any) -> Cloudant:
        """A client authenticating with an IBM Cloud IAM API key.

        ``account_name`` may be None when ``url=`` is given. ``iam_client_id``,
        ``iam_client_secret`` and ``iam_token_url`` pass through.
        """
        return cls(None, api_key, account=account_name, use_iam=True, **kwargs)

    @classmethod
    def bluemix(
        cls,
        vcap_services: Mapping[str, Any] | str,
        instance_name: str | None = None,
        service_name: str | None = None,
        **kwargs: Any,
    ) -> Cloudant:
        """A client from Cloud Foundry's ``VCAP_SERVICES`` (a dict or its JSON text).

        ``service_name`` defaults to ``cloudantNoSQLDB``; ``instance_name``
        picks one instance when there are several. The credentials give
        ``url`` (or ``host`` and ``port``) and either ``apikey`` (IAM) or
        ``username`` and ``password``. ``ValueError`` saying what is wrong when
        the JSON does not parse, the service or instance is missing or
        ambiguous, or the credentials are incomplete.
        """
        url, user, password, api_key = _vcap_credentials(
            vcap_services, instance_name, service_name or DEFAULT_SERVICE_NAME
        )
        if api_key is not None:
            return cls.iam(None, api_key, url=url, **kwargs)
        return cls(user, password, url=url, **kwargs)

    # -- Cloudant endpoints --------------------------------------------------------
    def _api(self, method: str, *segments: str, json_body: Any = None) -> Any:
        return self._transport().json(method, ("_api", "v2", *segments), json_body=json_body)

    def cors_configuration(self) -> dict[str, Any]:
        """``GET /_api/v2/user/config/cors``: enable_cors, allow_credentials, origins."""
        config: dict[str, Any] = self._api("GET", "user", "config", "cors")
        return config

    def cors_origins(self) -> list[str]:
        """The allowed CORS origins."""
        origins: list[str] = list(self.cors_configuration().get("origins", []))
        return origins

    def update_cors_configuration(
        self,
        enable_cors: bool = True,
        allow_credentials: bool = True,
        origins: Sequence[str] | None = None,
        overwrite_origins: bool = False,
    ) -> dict[str, Any]:
        """Merge these values into the CORS configuration (``PUT``); the server's answer.

        ``origins=["*"]`` allows any origin. Unless ``overwrite_origins``, the
        given origins are added to the current ones (one extra ``GET``).
        """
        if isinstance(origins, str):
            raise TypeError("origins is a list of origins, not a single str")
        wanted = list(origins or [])
        if not all(isinstance(o, str) for o in wanted):
            raise TypeError("origins must be strings")
        config: dict[str, Any] = {
            "enable_cors": bool(enable_cors),
            "allow_credentials": bool(allow_credentials),
            "origins": wanted,
        }
        if not overwrite_origins:
            current = self.cors_configuration()
            merged = {**current, **config}
            if wanted != ["*"]:
                old = list(current.get("origins", []))
                merged["origins"] = old + [o for o in wanted if o not in old]
            config = merged
        answer: dict[str, Any] = self._api("PUT", "user", "config", "cors", json_body=config)
        return answer

    def disable_cors(self) -> dict[str, Any]:
        """Switch CORS off (no origins, no credentials); the server's answer."""
        return self.update_cors_configuration(
            enable_cors=False, allow_credentials=False, origins=[], overwrite_origins=True
        )

    def generate_api_key(self) -> dict[str, Any]:
        """``POST /_api/v2/api_keys``: a new ``{"key", "password", "ok"}`` pair."""
        answer: dict[str, Any] = self._api("POST", "api_keys")
        return answer

    def shared_databases(self) -> list[str]:
        """Names of the databases other accounts share with this one."""
        answer = self._api("GET", "user", "shared_databases")
        shared: list[str] = list(answer.get("shared_databases", []))
        return shared

    def bill(self, year: int | None = None, month: int | None = None) -> dict[str, Any]:
        """Billing data (``/_api/v2/bill[/{year}/{month}]``).

        ``year`` and ``month`` (1-12) come together or not at all:
        ``ValueError``/``TypeError`` before any request otherwise.
        """
        answer: dict[str, Any] = self._api("GET", "bill", *_year_month(year, month))
        return answer

    def volume_usage(self, year: int | None = None, month: int | None = None) -> dict[str, Any]:
        """Data volume usage (``/_api/v2/usage/data_volume[/{year}/{month}]``)."""
        answer: dict[str, Any] = self._api("GET", "usage", "data_volume", *_year_month(year, month))
        return answer

    def requests_usage(self, year: int | None = None, month: int | None = None) -> dict[str, Any]:
        """Request usage (``/_api/v2/usage/requests[/{year}/{month}]``)."""
        answer: dict[str, Any] = self._api("GET", "usage", "requests", *_year_month(year, month))
        return answer


def _vcap_credentials(
    vcap_services: Mapping[str, Any] | str, instance_name: str | None, service_name: str
) -> tuple[str, str | None, str | None, str | None]:
    """``(url, username, password, apikey)`` of one Cloudant instance in VCAP_SERVICES."""
    if isinstance(vcap_services, str):
        try:
            services = json.loads(vcap_services)
        except ValueError as exc:
            raise ValueError(f"VCAP_SERVICES is not valid JSON: {exc}") from exc
    else:
        services = vcap_services
    if not isinstance(services, Mapping):
        raise ValueError("VCAP_SERVICES must be a JSON object of services")
    instances = services.get(service_name)
    if not instances:
        raise ValueError(f"VCAP_SERVICES has no {service_name!r} service")
    if not isinstance(instances, list) or not all(isinstance(i, Mapping) for i in instances):
        raise ValueError(f"VCAP_SERVICES[{service_name!r}] must be a list of instances")
    if instance_name is None:
        if len(instances) > 1:
            names = ", ".join(repr(i.get("name")) for i in instances)
            raise ValueError(
                f"VCAP_SERVICES has {len(instances)} {service_name!r} instances ({names}): "
                "pass instance_name"
            )
        chosen = instances[0]
    else:
        matches = [i for i in instances if i.get("name") == instance_name]
        if not matches:
            raise ValueError(f"no {service_name!r} instance named {instance_name!r}")
        if len(matches) > 1:
            raise ValueError(f"several {service_name!r} instances are named {instance_name!r}")
        chosen = matches[0]
    credentials = chosen.get("credentials")
    if not isinstance(credentials, Mapping):
        raise ValueError(f"instance {chosen.get('name')!r} has no credentials")
    user_from_url: tuple[str, str] | None = None
    if credentials.get("url"):
        url, user_from_url = split_credentials(str(credentials["url"]))
    elif credentials.get("host"):
        url = f"https://{credentials['host']}:{credentials.get('port', 443)}"
    else:
        raise ValueError(f"instance {chosen.get('name')!r}: credentials have no url or host")
    api_key = credentials.get("apikey")
    if api_key:
        return url, credentials.get("username"), None, str(api_key)
    user = credentials.get("username") or (user_from_url[0] if user_from_url else None)
    password = credentials.get("password") or (user_from_url[1] if user_from_url else None)
    if not user or not password:
        raise ValueError(
            f"instance {chosen.get('name')!r}: credentials need an apikey, "
            "or a username and password"
        )
    return url, str(user), str(password), None


@contextlib.contextmanager
def cloudant(user: str, passwd: str, **kwargs: Any) -> Iterator[Cloudant]:
    """``with cloudant(user, pw, account=...) as client:`` connects, then disconnects."""
    with Cloudant(user, passwd, **kwargs) as client:
        yield client


@contextlib.contextmanager
def cloudant_iam(account_name: str | None, api_key: str, **kwargs: Any) -> Iterator[Cloudant]:
    """``with cloudant_iam(account, api_key) as client:`` (IAM auth)."""
    with Cloudant.iam(account_name, api_key, **kwargs) as client:
        yield client


@contextlib.contextmanager
def cloudant_bluemix(
    vcap_services: Mapping[str, Any] | str,
    instance_name: str | None = None,
    service_name: str | None = None,
    **kwargs: Any,
) -> Iterator[Cloudant]:
    """``with cloudant_bluemix(os.environ["VCAP_SERVICES"]) as client:``."""
    with Cloudant.bluemix(vcap_services, instance_name, service_name, **kwargs) as client:
        yield client
