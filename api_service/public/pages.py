"""The small, self-contained HTML pages (inline CSS, no external resources).
Everything interpolated is escaped (autoescape). They are laid out for phones
(390 px) and desktops alike: one column, fluid width, wrapping buttons."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from jinja2 import DictLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}

_LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{% block title %}{% endblock %}</title>
<style>
body{margin:0;background:#f4f4f5;color:#18181b;font:16px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
main{box-sizing:border-box;max-width:480px;margin:10vh auto;background:#fff;border-radius:8px;padding:32px;box-shadow:0 1px 3px rgba(0,0,0,.1);overflow-wrap:anywhere}
@media (max-width:540px){main{margin:16px;padding:24px}}
.shop{margin:0 0 8px;color:#71717a;font-size:14px}
h1{margin:0 0 16px;font-size:22px}
form{margin:16px 0 0}
button{font:inherit;cursor:pointer;border:0;border-radius:6px;padding:12px 20px;background:#18181b;color:#fff;font-weight:600}
p.retry{color:#52525b;font-size:14px}
button.secondary{background:none;color:#52525b;padding:0;text-decoration:underline;font-weight:400;font-size:14px}
</style>
</head>
<body><main>
{% if shop_name %}<p class="shop">{{ shop_name }}</p>{% endif %}
{% block body %}{% endblock %}
</main></body>
</html>
"""

_TEMPLATES = {
    "layout.html": _LAYOUT,
    "unsubscribe_confirm.html": """{% extends "layout.html" %}
{% block title %}Unsubscribe{% endblock %}
{% block body %}
{% if already and not everything %}
<h1>You're already unsubscribed</h1>
<p>You will no longer get an alert when <strong>{{ product }}</strong> is back in stock.</p>
<form method="post" action="{{ action_all }}"><button type="submit" class="secondary">Unsubscribe from all alerts from {{ shop_name }}</button></form>
{% elif everything %}
<h1>Unsubscribe from all alerts?</h1>
<p>You will no longer get back-in-stock alerts from {{ shop_name }}.</p>
<form method="post" action="{{ action_all }}"><button type="submit">Unsubscribe from all alerts</button></form>
<form method="post" action="{{ action }}"><button type="submit" class="secondary">Only this alert ({{ product }})</button></form>
{% else %}
<h1>Unsubscribe from this alert?</h1>
<p>You will no longer get an alert when <strong>{{ product }}</strong> is back in stock.</p>
<form method="post" action="{{ action }}"><button type="submit">Unsubscribe</button></form>
<form method="post" action="{{ action_all }}"><button type="submit" class="secondary">Unsubscribe from all alerts from {{ shop_name }}</button></form>
{% endif %}
{% endblock %}
""",
    "error.html": """{% extends "layout.html" %}
{% block title %}{{ heading }}{% endblock %}
{% block body %}
<h1>{{ heading }}</h1>
<p>{{ message }}</p>
{% if retry_after %}<p class="retry">Please try again in {{ retry_after }} second{{ "" if retry_after == 1 else "s" }}.</p>{% endif %}
{% endblock %}
""",
    "unsubscribed.html": """{% extends "layout.html" %}
{% block title %}You're unsubscribed{% endblock %}
{% block body %}
<h1>You're unsubscribed</h1>
{% if everything %}
<p>You will no longer get back-in-stock alerts from {{ shop_name }}.</p>
{% else %}
<p>You will no longer get an alert when <strong>{{ product }}</strong> is back in stock.</p>
{% endif %}
{% endblock %}
""",
    "optin_confirm.html": """{% extends "layout.html" %}
{% block title %}Confirm your alert{% endblock %}
{% block body %}
{% if unsubscribed %}
<h1>This alert was cancelled</h1>
<p>You unsubscribed from the alert for <strong>{{ product }}</strong>. Sign up again on the store to get it.</p>
{% elif confirmed %}
<h1>Your alert is confirmed</h1>
<p>We'll let you know when <strong>{{ product }}</strong> is back in stock.</p>
{% else %}
<h1>Confirm your alert</h1>
<p>Get an alert from {{ shop_name }} when <strong>{{ product }}</strong> is back in stock.</p>
<form method="post" action="{{ action }}"><button type="submit">Confirm my alert</button></form>
{% endif %}
{% endblock %}
""",
}

_ENV = SandboxedEnvironment(loader=DictLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                            trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: Any) -> str:
    return _ENV.get_template(name).render(**context)


def html_response(name: str, status: int = 200, headers: dict[str, str] | None = None,
                  **context: Any) -> web.Response:
    return web.Response(text=render(name, **context), status=status, content_type="text/html",
                        charset="utf-8", headers={**SECURITY_HEADERS, **(headers or {})})


def wants_html(request: web.Request) -> bool:
    """A browser (its Accept names text/html) gets pages, errors included; mail
    providers' one-click POSTs and API clients keep the JSON envelope."""
    return "text/html" in request.headers.get("Accept", "").lower()


# What a person is told, by status, when a link can't be served.
ERROR_PAGES: dict[int, tuple[str, str]] = {
    404: ("This link doesn't work",
          "The link is incomplete, garbled or no longer exists. If you copied it, check that you copied all of it."),
    410: ("This link has expired",
          "Links in our messages only work for a limited time. Your alert settings have not changed."),
    429: ("Too many requests",
          "We received too many requests from your connection in a short time."),
    503: ("Temporarily unavailable",
          "We can't handle this right now. Nothing has changed; please try again in a few minutes."),
}
GENERIC_ERROR = ("Something went wrong", "We couldn't handle this request. Please try again later.")


def error_page(status: int, shop_name: str | None = None,
               headers: dict[str, str] | None = None) -> web.Response:
    heading, message = ERROR_PAGES.get(status, GENERIC_ERROR)
    retry = (headers or {}).get("Retry-After")
    return html_response("error.html", status=status, headers=headers, shop_name=shop_name, heading=heading,
                         message=message, retry_after=int(retry) if retry and retry.isdigit() else None)
