"""A variant's name, as every place shows it: the signup (API), the
notification row, the message, the public pages and the demand report.

"Linen shirt - M / Blue"; just "Linen shirt" when the variant title is empty,
Shopify's "Default Title" (a product without options) or the product title
again; nothing without a trusted product title (messages then use neutral
wording). The demand report computes the same in SQL (DISPLAY_NAME_SQL): a
test runs both on the same inputs."""
from __future__ import annotations

SHOPIFY_DEFAULT_VARIANT = "Default Title"  # Shopify's title for a product's only variant

# The same rule over variants v, for reports that stream rows straight from SQL.
DISPLAY_NAME_SQL = """CASE WHEN COALESCE(btrim(v.product_title), '') = '' THEN NULL
     WHEN COALESCE(btrim(v.variant_title), '') IN ('', 'Default Title', btrim(v.product_title))
         THEN btrim(v.product_title)
     ELSE btrim(v.product_title) || ' - ' || btrim(v.variant_title) END"""


def product_name(product_title: str | None, variant_title: str | None) -> str:
    """The name, or "" without a trusted product title."""
    title = (product_title or "").strip()
    if not title:
        return ""
    variant = (variant_title or "").strip()
    if not variant or variant in (SHOPIFY_DEFAULT_VARIANT, title):
        return title
    return f"{title} - {variant}"


def display_name(product_title: str | None, variant_title: str | None) -> str | None:
    """The name, or None (JSON null) without a trusted product title."""
    return product_name(product_title, variant_title) or None


def catalog_variant_title(title: str | None) -> str | None:
    """What the catalog stores from Shopify: no title for the only variant."""
    return None if title == SHOPIFY_DEFAULT_VARIANT else title
