"""Views. ``/public/v1/`` is Connect-shaped (Content-Range pagination, bulk verbs on the
collection, ``{"error_code", "errors"}`` errors); ``/api/`` is plain DRF (PATCH/PUT,
``{"count", "next", "results"}`` pages, ``{"detail"}``/field errors, multipart uploads)."""

from __future__ import annotations

import hashlib
import threading
import time
from decimal import Decimal
from typing import Any

from dj_rql.drf.backend import RQLFilterBackend
from dj_rql.drf.paginations import RQLContentRangeLimitOffsetPagination
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from py_rql.exceptions import RQLFilterError
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import api_view
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .filters import ItemFilters, ProductFilters, VendorFilters
from .models import Attachment, Item, Product, Vendor
from .serializers import (
    AttachmentSerializer,
    ItemSerializer,
    ProductSerializer,
    VendorSerializer,
)


class ContentRangePagination(RQLContentRangeLimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


class EnvelopePagination(LimitOffsetPagination):
    """DRF's ``{"count", "next", "previous", "results"}`` pages.

    ``next``/``previous`` keep the raw query string (RQL) as sent and only swap
    ``limit``/``offset``: DRF's own links re-encode ``eq(a,b)`` into a key
    that no longer parses as RQL.
    """

    default_limit = 50
    max_limit = 1000

    def _link(self, offset: int | None) -> str | None:
        if offset is None:
            return None
        raw = self.request._request.META.get("QUERY_STRING", "")
        kept = [t for t in raw.split("&") if t and not t.startswith(("limit=", "offset="))]
        kept += [f"limit={self.limit}", f"offset={offset}"]
        return self.request.build_absolute_uri(self.request.path) + "?" + "&".join(kept)

    def get_next_link(self) -> str | None:
        if self.offset + self.limit >= self.count:
            return None
        return self._link(self.offset + self.limit)

    def get_previous_link(self) -> str | None:
        if self.offset <= 0:
            return None
        return self._link(max(0, self.offset - self.limit))


_CODES = {
    400: "VAL_001",
    401: "AUTH_001",
    403: "AUTH_002",
    404: "NFND_001",
    405: "HTTP_405",
    409: "CONF_001",
}


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            out.extend(_flatten(value, f"{prefix}{key}: " if key != "non_field_errors" else prefix))
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF errors as DRF shapes them under /api/, Connect-shaped under /public/v1/."""
    if isinstance(exc, RQLFilterError):
        details = exc.details or {}
        message = details.get("error") if isinstance(details, dict) else None
        exc = exceptions.ValidationError({"rql": [message or "Bad RQL query."]})
    response = drf_exception_handler(exc, context)
    request = context.get("request")
    if response is None or request is None or not request.path.startswith("/public/"):
        return response
    response.data = {
        "error_code": _CODES.get(response.status_code, f"HTTP_{response.status_code}"),
        "errors": _flatten(response.data),
    }
    return response


class _Base(viewsets.ModelViewSet):  # type: ignore[type-arg]
    filter_backends = (RQLFilterBackend,)
    pagination_class = ContentRangePagination
    parser_classes = (JSONParser,)

    # Connect's PUT changes what the body names and keeps the rest.
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.data, list):
            serializer = self.get_serializer(data=request.data, many=True)
            serializer.is_valid(raise_exception=True)
            with transaction.atomic():
                serializer.save(**self.save_kwargs())
            return Response(serializer.data, status=status.HTTP_201_CREATED)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(**self.save_kwargs())
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def save_kwargs(self) -> dict[str, Any]:
        return {}

    def _bulk_items(self, request: Request) -> list[dict[str, Any]]:
        data = request.data
        if not isinstance(data, list) or not all(isinstance(d, dict) and "id" in d for d in data):
            raise exceptions.ValidationError(
                {"non_field_errors": ["Expected a list of objects that each have an id."]}
            )
        return data

    def bulk_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = self._bulk_items(request)
        out = []
        with transaction.atomic():
            for entry in items:
                instance = get_object_or_404(self.get_queryset(), pk=entry["id"])
                serializer = self.get_serializer(instance, data=entry, partial=True)
                serializer.is_valid(raise_exception=True)
                serializer.save()
                out.append(serializer.data)
        return Response(out)

    def bulk_delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = self._bulk_items(request)
        with transaction.atomic():
            for entry in items:
                get_object_or_404(self.get_queryset(), pk=entry["id"]).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class VendorViewSet(_Base):
    queryset = Vendor.objects.order_by("id")
    serializer_class = VendorSerializer
    rql_filter_class = VendorFilters


class ProductViewSet(_Base):
    queryset = Product.objects.select_related("vendor").order_by("id")
    serializer_class = ProductSerializer
    rql_filter_class = ProductFilters

    def get_queryset(self) -> QuerySet[Product]:
        qs = super().get_queryset()
        only = self.kwargs.get("only_status")
        return qs.filter(status=only) if only else qs

    def stats(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Collection action: counts and stock value over the filtered set."""
        qs = self.filter_queryset(self.get_queryset())
        by_status = {s: qs.filter(status=s).count() for s in Product.STATUSES}
        value = sum((price * qty for price, qty in qs.values_list("price", "quantity")), Decimal(0))
        quantity = qs.aggregate(total=Sum("quantity"))["total"] or 0
        return Response(
            {"count": qs.count(), "by_status": by_status, "quantity": quantity, "value": value}
        )

    def endsale(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Resource action: GET state, POST/PUT end the sale, DELETE puts it back on sale."""
        product = self.get_object()
        method = request.method
        if method == "POST" and product.status == "endofsale":
            raise exceptions.ValidationError({"status": ["The product is already at end of sale."]})
        if method in ("POST", "PUT"):
            body = request.data if isinstance(request.data, dict) else {}
            product.status = "endofsale"
            product.notes = body.get("end_of_sale_notes", product.notes)
            product.save()
        elif method == "DELETE":
            product.status = "published"
            product.save()
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response({"id": product.id, "status": product.status, "notes": product.notes})


class ItemViewSet(_Base):
    serializer_class = ItemSerializer
    rql_filter_class = ItemFilters

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(product_id=self.kwargs["product_pk"]).order_by("id")

    def save_kwargs(self) -> dict[str, Any]:
        return {"product": get_object_or_404(Product, pk=self.kwargs["product_pk"])}


class ApiProductViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """CloudCIX/CRUDs-style: PATCH partial, PUT full, envelope pages, DRF errors."""

    queryset = Product.objects.select_related("vendor").order_by("id")
    serializer_class = ProductSerializer
    filter_backends = (RQLFilterBackend,)
    rql_filter_class = ProductFilters
    pagination_class = EnvelopePagination


class ApiAttachmentViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = AttachmentSerializer
    parser_classes = (MultiPartParser, FormParser, JSONParser)
    pagination_class = EnvelopePagination

    def get_queryset(self) -> QuerySet[Attachment]:
        return Attachment.objects.filter(product_id=self.kwargs["product_pk"]).order_by("id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = get_object_or_404(Product, pk=self.kwargs["product_pk"])
        if not request.FILES:
            raise exceptions.ValidationError({"file": ["No file was submitted."]})
        form = {k: request.data[k] for k in request.data if k not in request.FILES}
        created = []
        for field, upload in request.FILES.items():
            content = upload.read()
            created.append(
                Attachment.objects.create(
                    product=product,
                    field=field,
                    filename=upload.name or "",
                    content_type=upload.content_type or "",
                    size=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                    form=form,
                )
            )
        data = AttachmentSerializer(created, many=True).data
        return Response(data[0] if len(data) == 1 else data, status=status.HTTP_201_CREATED)


# -- fault injection for retry tests: fail the first N calls of a key, then succeed ---------
_fault_lock = threading.Lock()
_fault_calls: dict[str, int] = {}


@csrf_exempt
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def fault(request: Request, key: str) -> Response:
    """``?fail=N&status=503&retry_after=0``: the first N calls answer ``status``;
    ``hold=S`` waits S seconds (at most 30) before answering (a client's read timeout)."""
    hold = min(float(request.query_params.get("hold", "0")), 30.0)
    if hold > 0:
        time.sleep(hold)
    with _fault_lock:
        _fault_calls[key] = _fault_calls.get(key, 0) + 1
        attempt = _fault_calls[key]
    fail = int(request.query_params.get("fail", "0"))
    code = int(request.query_params.get("status", "503"))
    if attempt <= fail:
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        return Response(
            {"error_code": f"HTTP_{code}", "errors": [f"injected failure {attempt}/{fail}"]},
            status=code,
            headers=headers,
        )
    return Response({"attempts": attempt, "method": request.method})


@api_view(["GET"])
def fault_attempts(request: Request, key: str) -> Response:
    with _fault_lock:
        return Response({"attempts": _fault_calls.get(key, 0)})


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "products": Product.objects.count()})


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    body: dict[str, Any] = {"detail": "Not found."}
    if request.path.startswith("/public/"):
        body = {"error_code": "NFND_000", "errors": [f"No endpoint {request.path}"]}
    return JsonResponse(body, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error_code": "SRV_000", "errors": ["Internal error."]}, status=500)


def openapi(request: HttpRequest, fmt: str) -> HttpResponse:
    """The service's OpenAPI 3 document (see openapi.py), as JSON or YAML."""
    from . import openapi as spec

    if fmt == "yaml":
        return HttpResponse(spec.as_yaml(), content_type="application/yaml")
    return HttpResponse(spec.as_json(), content_type="application/json")


class ApiKeyMiddleware:
    """401 unless ``Authorization`` (or CloudCIX's ``X-Auth-Token``) carries an accepted key."""

    def __init__(self, get_response: Any) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.accepted = set(settings.RQL_SERVICE_KEYS)

    def __call__(self, request: HttpRequest) -> Any:
        if request.path == "/health":
            return self.get_response(request)
        given = request.headers.get("Authorization") or request.headers.get("X-Auth-Token")
        if given not in self.accepted:
            if request.path.startswith("/public/"):
                body: dict[str, Any] = {
                    "error_code": "AUTH_001",
                    "errors": ["Invalid or missing API key."],
                }
            else:
                body = {"detail": "Authentication credentials were not provided."}
            return JsonResponse(body, status=401, json_dumps_params={"ensure_ascii": False})
        return self.get_response(request)
