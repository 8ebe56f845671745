"""How one environment variable is declared and read: its name, type and rule,
kept on the settings field it fills (`dataclasses.field` metadata), so that the
loader, the one-line refusal, README's check and the tests all read the same
declaration. Parsing and validation are environs' (marshmallow fields and
validators); the words of each rule are generated here from the same numbers."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from environs import Env, EnvValidationError
from marshmallow import ValidationError, validate

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A variable with a value its rule refuses: the CLI prints it as one line, exit 2."""


class MissingConfig(ConfigError):
    """A required environment variable is unset."""

    def __init__(self, name: str, why: str = ""):
        super().__init__(f"missing required environment variable {name}" + (f" ({why})" if why else ""))
        self.name = name


@dataclasses.dataclass(frozen=True)
class Var:
    name: str
    kind: str  # text, integer, number, flag, choice, url, email, path, level, pattern
    low: float | None = None
    high: float | None = None
    above: bool = False  # low itself is refused
    choices: tuple[str, ...] = ()
    pattern: str = ""
    words: str = ""  # the rule in words, where generating them would say less
    shown: str = ""  # README's default when the field's own default is not it (computed, required)

    @property
    def rule(self) -> str:
        """What a value must be, as in "NAME must be <rule>, got …"; empty: any text."""
        if self.words:
            return self.words
        if self.kind in ("integer", "number"):
            noun = "an integer" if self.kind == "integer" else "a number"
            if self.low is not None and self.high is not None:
                return f"{noun} from {self.low:g} to {self.high:g}"
            return f"{noun} {'above' if self.above else 'of at least'} {self.low:g}"
        return {"flag": "1 or 0", "choice": "one of " + ", ".join(self.choices),
                "email": "an email address", "path": "an existing directory",
                "level": ", ".join(LEVELS[:-1]) + f" or {LEVELS[-1]} (or a number from 0 to 50)"}.get(self.kind, "")

    def read(self, env: Env, default: Any) -> Any:
        kind = self.kind
        if kind == "integer":
            return env.int(self.name, default, validate=self._range())
        if kind == "number":
            return env.float(self.name, default, validate=self._range())
        if kind == "flag":
            return env.bool(self.name, default)
        if kind == "level":
            return env.log_level(self.name, default, validate=validate.Range(0, 50))
        if kind == "path":
            return env.path(self.name, default, validate=_holds(Path.is_dir))
        value = env.str(self.name, default, validate=_holds(self._accepts))
        return value.lower() if kind == "choice" and isinstance(value, str) else value

    def _range(self) -> validate.Range:
        return validate.Range(self.low, self.high, min_inclusive=not self.above)

    def _accepts(self, value: str) -> bool:
        if self.kind == "choice":
            return value.lower() in self.choices
        if self.kind == "pattern":
            return re.fullmatch(self.pattern, value) is not None
        if self.kind == "url":
            parts = urlsplit(value)
            return parts.scheme in self.choices and bool(parts.netloc or parts.scheme == "unix")
        if self.kind == "email":
            return "@" in parseaddr(value)[1]
        return True


def _holds(check: Callable[[Any], bool]) -> Callable[[Any], None]:
    def validator(value: Any) -> None:
        if not check(value):
            raise ValidationError("refused")  # the words are Var.rule's
    return validator


def setting(var: Var, default: Any = None, *, hidden: bool = False) -> Any:
    """A settings field read from `var` (unset or empty: `default`); `hidden`: kept out of repr()."""
    return dataclasses.field(default=default, repr=not hidden, metadata={"var": var})


def text(name: str, default: str | None = None, *, hidden: bool = False, **kw: Any) -> Any:
    return setting(Var(name, "text", **kw), default, hidden=hidden)


def integer(name: str, default: int | None, low: int, high: int | None = None, **kw: Any) -> Any:
    return setting(Var(name, "integer", low=low, high=high, **kw), default)


def number(name: str, default: float, low: float = 0, high: float | None = None, *, above: bool = False,
           **kw: Any) -> Any:
    return setting(Var(name, "number", low=low, high=high, above=above, **kw), default)


def flag(name: str, **kw: Any) -> Any:
    return setting(Var(name, "flag", **kw), False)


def choice(name: str, default: str | None, choices: tuple[str, ...], **kw: Any) -> Any:
    return setting(Var(name, "choice", choices=choices, **kw), default)


def url(name: str, default: str | None, schemes: tuple[str, ...], *, hidden: bool = False, **kw: Any) -> Any:
    words = "an http(s) URL" if schemes == ("http", "https") else \
        "a URL starting " + ", ".join(f"{s}://" for s in schemes[:-1]) + f" or {schemes[-1]}://"
    return setting(Var(name, "url", choices=schemes, words=words, **kw), default, hidden=hidden)


def section(cls: type) -> Any:
    """A group of settings with its own dataclass (config.dispatch, config.limits, …)."""
    return dataclasses.field(default_factory=cls, metadata={"section": cls})


class MappingEnv(Env):
    """environs reading a given mapping instead of os.environ (the API's
    --host/--port and `backinstock dev` pass their own); an empty value counts
    as unset, as compose writes `NAME=` for a variable it leaves alone."""

    def __init__(self, source: Mapping[str, str]):
        super().__init__(eager=False)  # every variable is read, then all refusals are reported
        self.source = source

    def _get_value(self, env_key: str, default: Any) -> Any:
        value = self.source.get(env_key)
        return default if value in (None, "") else value


def declared(cls: type) -> Iterator[tuple[dataclasses.Field, Var]]:
    """The settings fields of `cls` and of its sections, in declaration order."""
    for field in dataclasses.fields(cls):
        if "section" in field.metadata:
            yield from declared(field.metadata["section"])
        elif "var" in field.metadata:
            yield field, field.metadata["var"]


def read(cls: type, env: MappingEnv) -> dict[str, Any]:
    """Field values of `cls`, sections built; refusals are collected in `env`."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if "section" in field.metadata:
            inner = field.metadata["section"]
            values[field.name] = inner(**read(inner, env))
        elif "var" in field.metadata:
            values[field.name] = field.metadata["var"].read(env, field.default)
    return values


def refusal(var: Var, raw: str) -> str:
    return f"{var.name} must be {var.rule}, got {raw!r}"


def load(cls: type, source: Mapping[str, str]) -> dict[str, Any]:
    """Every variable of `cls` read from `source`; ConfigError naming each refused one."""
    env = MappingEnv(source)
    values = read(cls, env)
    try:
        env.seal()
    except EnvValidationError as exc:
        bad = set(exc.error_messages)
        raise ConfigError("; ".join(refusal(var, source[var.name]) for _, var in declared(cls)
                                    if var.name in bad)) from None
    return values
