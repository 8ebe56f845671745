"""Merchant-editable message templates (the email subject): checked when saved,
rendered when sending, both in Jinja2's sandbox."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

SUBJECT_VARIABLES = ("product_title", "variant_title", "shop_name", "product_url")

# Filters that never grow their input: with them, no loops, no calls and no
# arithmetic, a template's output is bounded by its length times its variables'.
FILTERS = ("upper", "lower", "title", "capitalize", "trim", "truncate", "default", "d")

# Statements and expressions a subject has no use for, and that would let a
# 255-character template render gigabytes ({{ x * 10**9 }}, nested loops, str methods).
_FORBIDDEN: dict[type[nodes.Node], str] = {
    nodes.For: "{% for %} loops",
    nodes.Macro: "macros",
    nodes.CallBlock: "{% call %} blocks",
    nodes.FilterBlock: "{% filter %} blocks",
    nodes.Call: "function or method calls",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.With: "{% with %} blocks",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% import %}",
    nodes.Mul: "arithmetic", nodes.Pow: "arithmetic", nodes.Mod: "arithmetic",
    nodes.Div: "arithmetic", nodes.FloorDiv: "arithmetic",
}

# What a saved template is test-rendered with, to catch errors only rendering
# shows: typical values, the longest each can be (Shopify's limits: titles and
# handles 255), and the shortest (a variant with no title, a one-letter shop).
# A template that renders with all three renders for real shops. The length
# cap (against amplification) is judged on the typical values.
_SAMPLES = (
    {"product_title": "Linen shirt", "variant_title": "M / Blue", "shop_name": "Acme",
     "product_url": "https://acme.myshopify.com/products/linen-shirt"},
    {"product_title": "W" * 255, "variant_title": "W" * 255, "shop_name": "W" * 255,
     "product_url": "https://" + "w" * 60 + ".myshopify.com/products/" + "w" * 255},
    {"product_title": "", "variant_title": "", "shop_name": "A", "product_url": ""},
)
MAX_RENDERED = 1000
# Deeper nesting than a subject needs; Jinja's parser and Python's compiler
# recurse per level and fail (RecursionError, SyntaxError) somewhere above 100.
MAX_DEPTH = 20
_WHITESPACE = re.compile(r"\s+")


class _Environment(SandboxedEnvironment):
    """The sandbox, minus globals (range, lipsum...) and calls of anything."""

    def is_safe_callable(self, obj: Any) -> bool:
        return False


# Autoescape off: subjects are plain text, not HTML.
_ENV = _Environment(undefined=StrictUndefined, autoescape=False)
_ENV.globals.clear()
_ENV.filters = {name: _ENV.filters[name] for name in FILTERS}


def _variables_hint(allowed: tuple[str, ...]) -> str:
    return ", ".join("{{ %s }}" % name for name in allowed)


def _sentence(text: str) -> str:
    return text.rstrip(".") + "."


class RenderError(ValueError):
    """A template that could not be rendered; the message says why."""


def _depth(tree: nodes.Node) -> int:
    # Iterative: the recursion this guards against must not happen here either.
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def template_errors(source: str, allowed: tuple[str, ...] = SUBJECT_VARIABLES) -> list[str]:
    """Why `source` is not a usable template (empty when it is)."""
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [_sentence(f"Template syntax error: {exc.message}")]
    except (RecursionError, SyntaxError, MemoryError):
        return [f"Template is nested more than {MAX_DEPTH} levels deep."]
    if _depth(parsed) > MAX_DEPTH:
        return [f"Template is nested more than {MAX_DEPTH} levels deep."]
    for node in parsed.find_all(nodes.Node):
        what = _FORBIDDEN.get(type(node))
        if what is None and isinstance(node, nodes.Filter) and node.name not in FILTERS:
            what = f"the filter {node.name!r}"
        if what is not None:
            return [f"Templates may not use {what}; use variables ({_variables_hint(allowed)}), "
                    f"{{% if %}} and the filters {', '.join(FILTERS)}."]
    try:
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(allowed))
    except TemplateSyntaxError as exc:  # compile-time checks (TemplateAssertionError)
        return [_sentence(f"Template syntax error: {exc.message}")]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        return [f"Unknown template variable {names}; use only {_variables_hint(allowed)}."]
    for typical, sample in zip((True, False, False), _SAMPLES):
        try:
            rendered = render_line(source, {name: sample.get(name, name) for name in allowed})
        except RenderError as exc:
            return [_sentence(f"Template error: {exc}")]
        if typical and len(rendered) > MAX_RENDERED:
            return [f"Template renders to more than {MAX_RENDERED} characters."]
    return []


def render_line(source: str, variables: Mapping[str, Any]) -> str:
    """Render a one-line template (a subject). Whitespace, newlines included,
    collapses to single spaces, so that a product title cannot inject an email header.
    Any failure is a RenderError: the template is merchant input, and Jinja's
    filters fail in many ways (truncate asserts, str methods raise ValueError...)."""
    try:
        text = _compiled(source).render(**variables)
    except Exception as exc:  # noqa: BLE001 - see above; the message is kept
        raise RenderError(str(exc) or type(exc).__name__) from exc
    return _WHITESPACE.sub(" ", text).strip()


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    # Shops reuse a handful of subjects across thousands of sends: compile each once.
    return _ENV.from_string(source)
