"""The reports in a real browser: headless Chromium (bilancio_lite.browser, issue 22).

Every report of the smoke sweep and its index are opened in headless Chromium; the test fails on a
console error, an image that does not decode, or a horizontal overflow. Without Chromium the tests
skip locally but FAIL when the environment variable CI is set (the CI job installs Debian's
``chromium``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bilancio_lite.browser import check_pages, find_chromium

#: 1x1 transparent PNG
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium is missing: install Debian's `chromium` (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium); CI fails instead of skipping")
    return found


def page(tmp_path: Path, name: str, body: str, head: str = "") -> Path:
    path = tmp_path / f"{name}.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>")
    return path


@pytest.mark.integration
def test_the_checks_catch_each_kind_of_problem(chromium, tmp_path):
    wide = "<table><tr>" + "<td>wide_column_name</td>" * 200 + "</tr></table>"
    pages = {
        "good": page(tmp_path, "good", f"<p>fine</p><img src='{PNG}'><div style='overflow-x:auto'>{wide}</div>"),
        "console": page(tmp_path, "console", "<script>console.error('boom')</script><p>x</p>"),
        "exception": page(tmp_path, "exception", "<script>undefined_function()</script><p>x</p>"),
        "image": page(tmp_path, "image", "<img alt='broken figure' src='data:image/png;base64,AAAA'>"),
        "page_overflow": page(tmp_path, "page_overflow", wide),
        "clipped": page(tmp_path, "clipped", f"<div style='overflow:hidden; width:300px'>{wide}</div>"),
        "remote": page(tmp_path, "remote", "<p>x</p>", head="<script src='https://cdn.invalid/x.js'></script>"),
    }
    checks = {c.path.stem: c for c in check_pages(list(pages.values()), screenshot_dir=tmp_path / "shots")}
    assert checks["good"].ok, checks["good"].problems()
    assert checks["good"].n_images == 1
    assert any("boom" in m for m in checks["console"].console_errors)
    assert any("undefined_function" in m for m in checks["exception"].console_errors)
    assert checks["image"].bad_images == ["broken figure"]
    assert any("page is" in m for m in checks["page_overflow"].overflow)
    assert any("hides" in m for m in checks["clipped"].overflow)
    assert checks["remote"].console_errors  # a remote asset cannot load here: the page is not offline
    for name, c in checks.items():
        assert c.screenshot == tmp_path / "shots" / f"{name}.png"
        assert c.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.integration
def test_every_smoke_report_reads_cleanly_in_chromium(chromium, smoke_ref):
    """`report --screenshots` on the smoke sweep: every report and the index open without a console
    error, every figure decodes, nothing overflows sideways; the screenshots land in reports/."""
    from factories.sweeps import cli

    from bilancio_lite.report import analysis_notebooks

    done = cli("report", str(smoke_ref), "--screenshots")
    assert done.returncode == 0, done.stdout + done.stderr
    reports = smoke_ref / "reports"
    names = ["index"] + [nb.stem for nb in analysis_notebooks()]
    for name in names:
        shot = reports / "screenshots" / f"{name}.png"
        assert shot.is_file() and shot.stat().st_size > 10_000, name
        assert f"screenshot {shot} (" in done.stdout and f"{shot.name} (" in done.stdout
    assert done.stdout.count(": ok\n") + done.stdout.count("): ok") >= len(names)
    # the same pages, checked again here so a failure names the problem
    checks = check_pages([reports / f"{n}.html" for n in names])
    bad = {c.path.name: c.problems() for c in checks if not c.ok}
    assert not bad, bad
    assert sum(c.n_images for c in checks) >= 20  # the figures are there and decode
