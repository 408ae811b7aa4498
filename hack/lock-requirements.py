#!/usr/bin/env python3
"""Write requirements.lock: the operator image's runtime dependencies, pinned, from the venv.

The closure of `[project].dependencies` in pyproject.toml (no extras, no test tools), each at
the version installed in the venv, with environment markers evaluated for the image (Linux,
CPython 3.12): `pip freeze` filtered to what the operator needs at run time.

To upgrade: `.venv/bin/pip install -U <package>` (the venv installs under the lock as
constraints, see hack/venv.sh), then run this.

Usage: .venv/bin/python hack/lock-requirements.py [--check]
  --check: exit 1 (and say what differs) when requirements.lock is not what this would write.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
IMAGE_PYTHON = "3.12"
TARGET = {
    "python_version": IMAGE_PYTHON,
    "python_full_version": f"{IMAGE_PYTHON}.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**TARGET, "extra": extra}) for extra in (extras or {""}))


def closure(roots: list[str]) -> dict[str, str]:
    pinned: dict[str, str] = {}
    todo = [(Requirement(r), set()) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement, _ = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            raise SystemExit(
                f"lock-requirements: {requirement.name} is needed but not installed in this venv"
            ) from None
        pinned[canonicalize_name(dist.metadata["Name"])] = dist.version
        for text in dist.requires or []:
            child = Requirement(text)
            if applies(child, set(requirement.extras)):
                todo.append((child, set(child.extras)))
    return pinned


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = [r for r in project["dependencies"] if applies(Requirement(r), set())]
    pinned = closure(roots)
    lines = [
        "# The operator image's runtime dependencies, pinned (generated; do not edit).",
        "# Regenerate: .venv/bin/python hack/lock-requirements.py   (from pyproject.toml + the venv)",
        f"# Markers evaluated for CPython {IMAGE_PYTHON} on Linux.",
        *(f"{name}=={version}" for name, version in sorted(pinned.items())),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not LOCK.exists() or LOCK.read_text() != text:
            print("requirements.lock is stale: run .venv/bin/python hack/lock-requirements.py", file=sys.stderr)
            return 1
        return 0
    LOCK.write_text(text)
    print(f"wrote {LOCK.relative_to(ROOT)} ({text.count(chr(10)) - 3} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
