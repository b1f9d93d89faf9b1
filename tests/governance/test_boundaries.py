"""Access and audit have one home (issue 9): nothing outside `careweave.governance` writes the audit
log or checks a role itself. An AST lint, after the breast screening service's
`lint_model_usage_in_views.py`; plus the workspace's layers (feature apps never import `web`).

Everything else asks `governance.permissions` (`has`, `require`, `roles_with`) what a role may do,
opens a person's record with `governance.access.open_record`, and audits through `governance.audit`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "careweave"

# Where a role may be named, and why. Every entry is a debt or a reason; keep the list short.
ALLOWED: dict[str, str] = {
    "governance/": "the home of roles, permissions, access and the auditor",
    "demo.py": "creates the demo accounts, each with its role",
}

AUDIT_WRITES = frozenset({"create", "bulk_create", "get_or_create", "update_or_create", "update", "delete", "save"})
ROLE_NAMES = frozenset({"CLINICAL_ROLES", "SEES_EVERYONE", "ROLE_PERMISSIONS"})


def _root(node: ast.expr) -> tuple[str | None, list[str]]:
    """The name an attribute chain starts from and the attributes along it: `A.objects.create` ->
    ('A', ['objects', 'create']); calls in the chain (`A.objects.filter(...).update`) are walked through."""
    attrs: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id, attrs[::-1]
        else:
            return None, attrs[::-1]


def violations(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for each audit write or role check in one module's source."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name, attrs = _root(node.func)
            chain = [name or "", *attrs]
            after = chain[chain.index("AuditEntry") + 1 :] if "AuditEntry" in chain else None
            if after == []:
                yield node.lineno, "builds an AuditEntry (write through governance.audit)"
            elif after and AUDIT_WRITES & set(after):
                yield node.lineno, "writes AuditEntry directly (write through governance.audit)"
            elif chain[-1] == "role_of":
                yield node.lineno, "calls role_of (ask governance.permissions.has)"
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "Role":
                yield node.lineno, f"names Role.{node.attr} (ask governance.permissions.has)"
            elif node.attr == "role" and isinstance(node.value, ast.Attribute) and node.value.attr == "staff_profile":
                yield node.lineno, "reads staff_profile.role (ask governance.permissions.has)"
            elif node.attr in ROLE_NAMES:
                yield node.lineno, f"uses {node.attr} (ask governance.permissions)"
        elif isinstance(node, ast.Name) and node.id in ROLE_NAMES:
            yield node.lineno, f"uses {node.id} (ask governance.permissions)"
        elif isinstance(node, ast.ImportFrom):
            imported = {alias.name for alias in node.names}
            if imported & ({"role_of"} | ROLE_NAMES):
                yield node.lineno, f"imports {', '.join(sorted(imported & ({'role_of'} | ROLE_NAMES)))}"


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "/migrations/" in relative or any(relative.startswith(prefix) for prefix in ALLOWED):
            continue
        yield relative, path


def test_nothing_outside_governance_writes_the_audit_or_checks_a_role() -> None:
    found = [
        f"{relative}:{line}: {what}"
        for relative, path in _modules()
        for line, what in violations(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


def test_every_allowed_exception_still_exists() -> None:
    # an exception for a file that has gone would silently allow whatever comes to take its name
    for prefix in ALLOWED:
        assert (SRC / prefix).exists(), prefix


@pytest.mark.parametrize(
    "code",
    [
        "AuditEntry.objects.create(actor=user, action='read')",
        "AuditEntry.objects.bulk_create(rows)",
        "AuditEntry.objects.filter(pk=1).update(reason='')",
        "models.AuditEntry.objects.create(action='read')",
        "AuditEntry(actor=user).save()",
        "if role_of(user) == 'gp': pass",
        "if access.role_of(user) in allowed: pass",
        "if profile.role == Role.ADMINISTRATOR: pass",
        "if user.staff_profile.role != 'analyst': pass",
        "ok = role in CLINICAL_ROLES",
        "ok = role in models.CLINICAL_ROLES",
        "from careweave.governance.models import CLINICAL_ROLES",
        "from careweave.governance.access import role_of",
    ],
)
def test_the_lint_catches_each_kind(code: str) -> None:
    assert list(violations(code)), code


@pytest.mark.parametrize(
    "code",
    [
        "AuditEntry.objects.filter(person=p).order_by('-pk')",  # reading the audit is fine
        "record_access(actor=user, action='read')",
        "if has(user, Permission.READ_AUDIT): pass",
        "users.filter(staff_profile__role__in=roles_with(Permission.HUDDLES))",
        "label = profile.get_role_display()",
    ],
)
def test_the_lint_allows_asking_governance(code: str) -> None:
    assert not list(violations(code)), code


# -- the workspace's layers: web -> care, huddles -> ui; never back up ------------------------------

WORKSPACE = ("web", "care", "huddles", "ui")


def _imports(package: str) -> set[str]:
    """The workspace packages that modules of `package` import (careweave.<name>...)."""
    found: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                parts = name.split(".")
                if len(parts) > 1 and parts[0] == "careweave" and parts[1] in WORKSPACE and parts[1] != package:
                    found.add(parts[1])
    return found


def test_feature_apps_and_the_ui_kernel_never_import_the_workspace() -> None:
    graph = {package: _imports(package) for package in WORKSPACE}
    assert "web" not in graph["care"] | graph["huddles"] | graph["ui"], graph
    assert not graph["ui"], "the UI kernel imports no app above it"


def test_no_cycle_between_the_workspace_packages() -> None:
    graph = {package: _imports(package) for package in WORKSPACE}

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    assert not [p for p in WORKSPACE if reaches(p, p)], graph
