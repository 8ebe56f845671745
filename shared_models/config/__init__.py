"""The service's configuration, read from the environment only: one Config
object declares every variable with its type, rule and default (settings.py,
sections.py), read through environs (rules.py)."""
from shared_models.config.rules import ConfigError, MissingConfig, Var
from shared_models.config.sections import Bucket, Dispatch, DispatcherProcess, Limits, Logs, Mcp
from shared_models.config.settings import MIN_SECRET_BYTES, Config, variables

__all__ = ["Bucket", "Config", "ConfigError", "Dispatch", "DispatcherProcess", "Limits", "Logs", "Mcp",
           "MIN_SECRET_BYTES", "MissingConfig", "Var", "variables"]
