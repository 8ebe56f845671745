"""The layers (README, Architecture): api_service/ and dispatcher/ stand side by
side on the core in shared_models/ and never import each other; the MCP
sidecar imports neither; the core imports no process."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

FORBIDDEN = {
    "api_service": {"dispatcher", "mcp_sidecar"},
    "dispatcher": {"api_service", "mcp_sidecar"},
    "mcp_sidecar": {"api_service", "dispatcher"},
    "shared_models": {"api_service", "dispatcher", "mcp_sidecar"},
}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_is_below_it(repo_root, package):
    found = []
    for path in sorted((repo_root / package).rglob("*.py")):
        for name in imported(path):
            if name.split(".")[0] in FORBIDDEN[package]:
                found.append(f"{path.relative_to(repo_root)} imports {name}")
    assert found == []


def test_dynamic_imports_follow_the_layers_too(repo_root):
    """importlib strings (the CLI's lazy commands) are checked by what they name."""
    for path in (repo_root / "dispatcher").rglob("*.py"):
        assert "import_module(\"api_service" not in path.read_text(), path


def test_readme_maps_every_action_to_its_code(repo_root):
    from api_service.registry import all_actions
    readme = (repo_root / "README.md").read_text()
    table = readme[readme.index("## Architecture"):readme.index("Code layout:")]
    for action in all_actions():
        assert f"| `{action.name}` |" in table, action.name
