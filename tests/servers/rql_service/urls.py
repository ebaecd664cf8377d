"""URL map; see README.md for what each endpoint is for."""

from __future__ import annotations

from django.urls import include, path

from . import views

_collection = {"get": "list", "post": "create", "put": "bulk_update", "delete": "bulk_delete"}
_resource = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
_action = {"get": "endsale", "post": "endsale", "put": "endsale", "delete": "endsale"}

products = views.ProductViewSet.as_view(_collection)
product = views.ProductViewSet.as_view(_resource)
vendors = views.VendorViewSet.as_view(_collection)
vendor = views.VendorViewSet.as_view(_resource)


def _catalog(prefix: str) -> list[object]:
    return [
        path(f"{prefix}products", products),
        path(f"{prefix}products/stats", views.ProductViewSet.as_view({"get": "stats"})),
        path(f"{prefix}products/<str:pk>", product),
        path(f"{prefix}products/<str:pk>/endsale", views.ProductViewSet.as_view(_action)),
        path(f"{prefix}products/<str:product_pk>/items", views.ItemViewSet.as_view(_collection)),
        path(
            f"{prefix}products/<str:product_pk>/items/<int:pk>",
            views.ItemViewSet.as_view(_resource),
        ),
        path(f"{prefix}vendors", vendors),
        path(f"{prefix}vendors/<str:pk>", vendor),
    ]


public = [
    *_catalog(""),
    *_catalog("catalog/"),
    # A namespace nested in a namespace: the retired products only.
    path(
        "catalog/archive/products",
        views.ProductViewSet.as_view({"get": "list"}),
        {"only_status": "retired"},
    ),
    path(
        "catalog/archive/products/<str:pk>",
        views.ProductViewSet.as_view({"get": "retrieve"}),
        {"only_status": "retired"},
    ),
    path("openapi.<str:fmt>", views.openapi),
    path("faults/<str:key>", views.fault),
    path("faults/<str:key>/attempts", views.fault_attempts),
]

api = [
    path("products/", views.ApiProductViewSet.as_view({"get": "list", "post": "create"})),
    path(
        "products/<str:pk>/",
        views.ApiProductViewSet.as_view(
            {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
        ),
    ),
    path(
        "products/<str:product_pk>/attachments/",
        views.ApiAttachmentViewSet.as_view({"get": "list", "post": "create"}),
    ),
]

urlpatterns = [
    path("health", views.health),
    path("public/v1/", include(public)),
    path("api/", include(api)),
]

handler404 = "tests.servers.rql_service.views.not_found"
handler500 = "tests.servers.rql_service.views.server_error"
