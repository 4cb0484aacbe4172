"""Brands (tenants), their settings and WeChat credentials, staff users, tokens and auth."""
