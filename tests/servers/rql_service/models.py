"""Models: Vendor 1-n Product 1-n Item, Product 1-n Attachment."""

from __future__ import annotations

from django.db import models


class Vendor(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    active = models.BooleanField(default=True)
    rating = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    founded = models.DateField(null=True, blank=True)
    created = models.DateTimeField()

    class Meta:
        app_label = "catalog"
        ordering = ("id",)


class Product(models.Model):
    STATUSES = ("draft", "published", "endofsale", "retired")

    id = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=200)
    vendor = models.ForeignKey(Vendor, related_name="products", on_delete=models.PROTECT)
    category = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=[(s, s) for s in STATUSES])
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.IntegerField()
    weight = models.FloatField(null=True, blank=True)
    published = models.BooleanField(default=False)
    released = models.DateField(null=True, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    description = models.TextField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "catalog"
        ordering = ("id",)


class Item(models.Model):
    product = models.ForeignKey(Product, related_name="items", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=40)
    quantity = models.IntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        app_label = "catalog"
        ordering = ("id",)


class Attachment(models.Model):
    product = models.ForeignKey(Product, related_name="attachments", on_delete=models.CASCADE)
    field = models.CharField(max_length=100)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.IntegerField()
    sha256 = models.CharField(max_length=64)
    form = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "catalog"
        ordering = ("id",)
