"""DRF serializers; RQLMixin makes django-rql's ``select()`` apply to the output."""

from __future__ import annotations

import uuid
from typing import Any

from dj_rql.drf.serializers import RQLMixin
from django.utils import timezone
from rest_framework import serializers

from .models import Attachment, Item, Product, Vendor


class VendorRefSerializer(RQLMixin, serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ("id", "name", "country", "active", "rating")


class VendorSerializer(RQLMixin, serializers.ModelSerializer):
    id = serializers.CharField(required=False, max_length=32)
    created = serializers.DateTimeField(required=False)

    class Meta:
        model = Vendor
        fields = ("id", "name", "country", "active", "rating", "founded", "created")

    def create(self, validated_data: dict[str, Any]) -> Vendor:
        validated_data.setdefault("id", f"VA-{uuid.uuid4().hex[:10].upper()}")
        validated_data.setdefault("created", timezone.now())
        return super().create(validated_data)


class ProductSerializer(RQLMixin, serializers.ModelSerializer):
    id = serializers.CharField(required=False, max_length=32)
    vendor = VendorRefSerializer(read_only=True)
    vendor_id = serializers.PrimaryKeyRelatedField(
        source="vendor", queryset=Vendor.objects.all(), write_only=True
    )
    created = serializers.DateTimeField(read_only=True)
    updated = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Product
        fields = (
            "id",
            "name",
            "vendor",
            "vendor_id",
            "category",
            "status",
            "price",
            "quantity",
            "weight",
            "published",
            "released",
            "created",
            "updated",
            "description",
            "notes",
            "extra",
        )

    def create(self, validated_data: dict[str, Any]) -> Product:
        now = timezone.now()
        validated_data.setdefault("id", f"PRD-{uuid.uuid4().hex[:10].upper()}")
        validated_data["created"] = now
        validated_data["updated"] = now
        return super().create(validated_data)

    def update(self, instance: Product, validated_data: dict[str, Any]) -> Product:
        validated_data.pop("id", None)  # the id is the URL's, never the body's
        validated_data["updated"] = timezone.now()
        return super().update(instance, validated_data)


class ItemSerializer(RQLMixin, serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ("id", "name", "sku", "quantity", "unit_price")


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ("id", "field", "filename", "content_type", "size", "sha256", "form")
