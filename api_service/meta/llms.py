"""GET /llms.txt: a short plain-text index of the API for AI agents (the
llmstxt.org shape: a title, a summary, then sections of links), generated from
the registry so that it names exactly the actions /help does."""
from __future__ import annotations

import re

from api_service.meta.openapi import TITLE
from api_service.registry import BASE_PATH, Action

SUMMARY = ("Back-in-stock alerts for Shopify shops: waitlists (signups), the alerts sent (notifications), "
           "per-shop settings, reports and background jobs, as JSON over HTTP.")


_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])")  # not "e.g. {", not "1.5"


def _first_sentence(text: str) -> str:
    """The first sentence, or two when the first only names the action ("Read the channels settings.")."""
    sentences = _SENTENCE_END.split(text.strip())
    chosen = sentences[0] if len(sentences[0]) >= 40 or len(sentences) == 1 else ". ".join(sentences[:2])
    return chosen.rstrip(".") + "."


def render(actions: list[Action], origin: str) -> str:
    api = origin + BASE_PATH
    lines = [f"# {TITLE}", "", f"> {SUMMARY}", "",
             f"Base URL {api}. Send the shop's API key as `X-Auth-Token` (or `Authorization: Bearer`); "
             "read-only keys may call GET actions only. Errors are `{\"errors\": [...], \"fields\": {...}}`. "
             "Lists take `page` and `per_page` (max 200); POSTs take an `Idempotency-Key` header. "
             "Every action is also an MCP tool of the same name with the same JSON Schema.", "",
             "## Docs", "",
             f"- [help]({api}/help): every action with its request JSON Schema (needs a key)",
             f"- [OpenAPI]({api}/openapi.json): the whole HTTP surface as OpenAPI 3",
             f"- [reference]({api}/docs): the same, to read in a browser", "",
             "## Actions", ""]
    for action in actions:
        flags = ", read-only" if action.read_only else (", destructive" if action.destructive else "")
        lines.append(f"- [{action.name}]({api}{action.path}): {action.method}{flags}. "
                     f"{_first_sentence(action.description)}")
    lines += ["", "## Optional", "",
              f"- [webhooks]({origin}/webhooks/shopify): Shopify webhooks, signed with the shop's webhook secret",
              f"- [health]({origin}/readyz): PostgreSQL and Redis reachable",
              f"- [metrics]({origin}/metrics): Prometheus", ""]
    return "\n".join(lines)

