"""The page ships everything it loads: the vendored layout library with its licence and version,
and no reference to another host (no CDN, nothing fetched at run time)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[3] / "operator" / "dagwright" / "ui" / "static"


def test_dagre_is_vendored_with_its_licence_and_version():
    vendor = STATIC / "vendor"
    assert (vendor / "dagre.VERSION").read_text().startswith("@dagrejs/dagre 3.1.4 ")
    assert "Permission is hereby granted, free of charge" in (vendor / "dagre.LICENSE").read_text()  # MIT
    assert (vendor / "dagre.min.js").read_text().startswith('"use strict";var dagre=')


def test_the_page_loads_nothing_from_another_host():
    for path in (STATIC / "index.html", STATIC / "app.js", STATIC / "style.css"):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path
    scripts = re.findall(r'<script src="([^"]+)"', (STATIC / "index.html").read_text())
    assert scripts == ["/static/vendor/dagre.min.js", "/static/app.js"]
    for script in scripts:
        assert (STATIC / script.removeprefix("/static/")).exists()
