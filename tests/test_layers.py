"""Every import runs downhill (docs/architecture.md, "Layers").

The domain is three floors, orders → payments → reconciliation; the doors (checkout pages,
partner API, back office) stand on top and call down; config wires it all together. A module
may import its own floor and the floors below, never one above, and a door never imports
another door. The shared ground (errors, ids, enums) imports no Paycenter module at all. The
channel simulators are third parties: only config (which runs them as processes) may import
them. Every import counts, also one inside a function.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOORS = {"orders": 0, "payments": 1, "reconciliation": 2}
DOORS = {"checkout", "partner_api", "backoffice"}
WIRING = "config"
THIRD_PARTIES = {"sandbox_channel", "wechatpay_emulator", "alipay_emulator", "channel_sim"}
SHARED_GROUND = {"orders.errors", "orders.ids", "orders.enums"}
PAYCENTER = {*FLOORS, *DOORS, WIRING}
ACTORS_MODULE = Path("orders/audit.py")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(root: Path, path: Path):
    """(line, dotted name) of every import in the file, relative ones resolved."""
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            else:
                yield node.lineno, node.module


def why_not(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None when it may."""
    source, target = importer.split(".")[0], imported.split(".")[0]
    if source in THIRD_PARTIES:
        return "a third party knows nothing of Paycenter" if target in PAYCENTER else None
    if target in THIRD_PARTIES:
        return None if source == WIRING else "a third party (only config runs it)"
    if target not in PAYCENTER:
        return None
    if importer in SHARED_GROUND:
        return "the shared ground stands on nothing"
    if source in (target, WIRING):
        return None
    if target == WIRING:
        return "config wires the apps together: nothing imports it"
    if target in DOORS:
        return "a door (doors are on top: nothing imports them)"
    if source in DOORS or FLOORS[target] < FLOORS[source]:
        return None
    return f"a floor above {source}"


def upward_imports(root: Path) -> list[str]:
    found = []
    for package in sorted(PAYCENTER | THIRD_PARTIES):
        for path in sorted((root / package).rglob("*.py")):
            importer = module_name(root, path)
            for line, imported in imported_modules(root, path):
                if reason := why_not(importer, imported):
                    where = path.relative_to(root)
                    found.append(f"{where}:{line} {importer} imports {imported}: {reason}")
    return found


def test_every_import_runs_downhill():
    assert upward_imports(ROOT) == []


def fixed_actors(root: Path) -> list[str]:
    """Module-level ``NAME = Actor(...)`` outside orders/audit.py, where fixed actors live."""
    found = []
    for package in sorted(PAYCENTER):
        for path in sorted((root / package).rglob("*.py")):
            if path.relative_to(root) == ACTORS_MODULE:
                continue
            for node in ast.parse(path.read_text()).body:
                call = getattr(node, "value", None)
                if isinstance(node, ast.Assign | ast.AnnAssign) and _calls_actor(call):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def _calls_actor(node) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Actor"


def test_every_fixed_actor_is_defined_once_in_the_audit_module():
    from orders import audit

    assert fixed_actors(ROOT) == []
    actors = [value for value in vars(audit).values() if isinstance(value, audit.Actor)]
    assert len(actors) == len(set(actors)), "two names for one actor"


def test_a_fixed_actor_elsewhere_is_named(tmp_path):
    root = _tree(tmp_path, {"payments/tasks.py": 'JOB = Actor(ActorKind.SYSTEM, "job")\n'})
    assert fixed_actors(root) == ["payments/tasks.py:1"]


def test_every_package_is_scanned():
    on_disk = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert on_disk - {"tests"} == PAYCENTER | THIRD_PARTIES


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name in PAYCENTER | THIRD_PARTIES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_an_upward_import_is_named(tmp_path):
    root = _tree(
        tmp_path,
        {
            "orders/services.py": "def f():\n    from payments.models import Payment\n",
            "payments/results.py": "from reconciliation import services\n",
            "reconciliation/scans.py": "from backoffice.risk import stuck_payments\n",
            "payments/tasks.py": "from partner_api.idempotency import purge\n",
            "checkout/views.py": "from partner_api import errors\n",
            "orders/errors.py": "from orders.models import Order\n",
            "payments/channels.py": "import sandbox_channel\n",
            "sandbox_channel/server.py": "from payments.channels import base\n",
        },
    )
    assert upward_imports(root) == [
        "checkout/views.py:1 checkout.views imports partner_api: "
        "a door (doors are on top: nothing imports them)",
        "orders/errors.py:1 orders.errors imports orders.models: "
        "the shared ground stands on nothing",
        "orders/services.py:2 orders.services imports payments.models: a floor above orders",
        "payments/channels.py:1 payments.channels imports sandbox_channel: "
        "a third party (only config runs it)",
        "payments/results.py:1 payments.results imports reconciliation: a floor above payments",
        "payments/tasks.py:1 payments.tasks imports partner_api.idempotency: "
        "a door (doors are on top: nothing imports them)",
        "reconciliation/scans.py:1 reconciliation.scans imports backoffice.risk: "
        "a door (doors are on top: nothing imports them)",
        "sandbox_channel/server.py:1 sandbox_channel.server imports payments.channels: "
        "a third party knows nothing of Paycenter",
    ]


def test_downhill_and_relative_imports_pass(tmp_path):
    root = _tree(
        tmp_path,
        {
            "payments/models.py": "from orders.ids import new_public_id\nfrom . import enums\n",
            "reconciliation/services.py": "from payments.models import Payment\n",
            "backoffice/risk.py": "from reconciliation import services\nimport orders.models\n",
            "orders/ids.py": "import secrets\nfrom django.utils import timezone\n",
            "config/urls.py": "from checkout import views\nimport sandbox_channel\n",
        },
    )
    assert upward_imports(root) == []
