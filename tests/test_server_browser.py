"""The page and the API docs in real headless Chromium (no network needed: nothing loads from a CDN).

The gallery is rendered on the server, so it is checked with JavaScript off as well as on; with
it on, uploads, delete and copy-link work without a reload. Screenshots (desktop and phone width)
go to $PJSTORE_SCREENSHOTS when set, for a person to look at.

Skips when Chromium, its driver or selenium is missing; `./bootstrap.sh test` installs them.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from pjstore import ids

from serving import running_server

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402  (after the skip check)
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver not installed")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
PHONE = (390, 844)


# Uploads searched inside the request, so the offsets the page shows are the ones that stay (with the
# default background refiner, a record changes under the test; test_refine.py covers that path).
INLINE = ("--refine-workers", "0")

def _driver(tmp_path: Path, javascript: bool = True):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / ('profile-js' if javascript else 'profile-nojs')}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
    # An explicit driver path: selenium then never runs Selenium Manager (no downloads).
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


@pytest.fixture
def browser(tmp_path):
    driver = _driver(tmp_path)
    yield driver
    driver.quit()


@pytest.fixture
def browser_without_js(tmp_path):
    driver = _driver(tmp_path, javascript=False)
    yield driver
    driver.quit()


def screenshot(driver, name: str) -> None:
    where = os.environ.get("PJSTORE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, driver.execute_script("return document.documentElement.scrollHeight") + 140)
        driver.save_screenshot(str(Path(where) / f"{name}.png"))


def smooth_jpeg() -> bytes:
    """A smooth gradient: its first scans alone meet every size's target, so all sizes read alike."""
    y, x = np.mgrid[0:160, 0:200]
    rgb = np.dstack([x * 1.2, y * 1.5, np.full(x.shape, 128)]).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=90)
    return out.getvalue()


def upload(url: str, data: bytes) -> dict:
    return httpx.post(f"{url}/v1/images", content=data, headers={"Content-Type": "image/jpeg"}).json()


def _image_loaded(driver, figure) -> bool:
    return driver.execute_script("return arguments[0].querySelector('img').naturalWidth > 0", figure)


def _figure(driver, image_id: str):
    found = WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'figure[data-id="{image_id}"]'))
    return found[0]


def _assert_sizes(figure, record: dict) -> None:
    srcset = figure.find_element(By.TAG_NAME, "img").get_attribute("srcset")
    for row in record["scales"]:
        assert f"/v1/images/{record['id']}?scale={row['scale']:g} {row['width']}w" in srcset
    rows = figure.find_elements(By.CSS_SELECTOR, "tr.size")
    cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    assert [c[1] for c in cells] == [f"{row['width']}\u00d7{row['height']}" for row in record["scales"]]
    assert [int(c[2].replace(",", "")) for c in cells] == [row["offset"] for row in record["scales"]]
    # Against the upload, not the stored file.
    assert [float(c[3].rstrip("%")) for c in cells] == \
        [round(100 * row["offset"] / record["source_bytes"], 1) for row in record["scales"]]


def _totals(driver) -> dict[str, int]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#totals tr.total")
    return {r.get_attribute("data-scale"): int(r.find_elements(By.TAG_NAME, "td")[1].text.replace(",", ""))
            for r in rows}


def test_upload_delete_and_copy_link_through_the_page(tmp_path, kinds, browser):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(kinds["420_q75"])
    with running_server(tmp_path / "store", *INLINE) as server:
        url = server.url
        already = upload(url, kinds["gray"])
        browser.get(f"{url}/")
        assert _figure(browser, already["id"]).find_element(By.CSS_SELECTOR, "button.delete").is_displayed()
        assert _totals(browser) == {f"{r['scale']:g}": r["offset"] for r in already["scales"][:-1]}

        # An upload through the form appears with every size, and the totals now count it.
        browser.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(photo))
        browser.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
        new_id = ids.image_id(kinds["420_q75"])
        uploaded = _figure(browser, new_id)
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text == f"Stored {new_id}")
        record = httpx.get(f"{url}/v1/images/{new_id}/info").json()
        _assert_sizes(uploaded, record)
        assert _totals(browser) == {f"{a['scale']:g}": a["offset"] + b["offset"]
                                    for a, b in zip(already["scales"][:-1], record["scales"][:-1], strict=True)}
        WebDriverWait(browser, 60).until(lambda d: _image_loaded(d, uploaded))
        screenshot(browser, "page-desktop")

        # Copy-link copies the absolute URL of the image at full size.
        browser.execute_script("Object.defineProperty(navigator, 'clipboard', "
                               "{value: {writeText: async (text) => { window.copied = text; }}})")
        uploaded.find_element(By.CSS_SELECTOR, "button.copy").click()
        copied = WebDriverWait(browser, 10).until(lambda d: d.execute_script("return window.copied"))
        assert copied == f"{url}/v1/images/{new_id}?scale=1"
        assert httpx.get(copied).status_code == 200

        # Delete removes it from the store and the page, and from the totals.
        uploaded.find_element(By.CSS_SELECTOR, "button.delete").click()
        WebDriverWait(browser, 60).until(lambda d: not d.find_elements(By.CSS_SELECTOR, f'figure[data-id="{new_id}"]'))
        assert httpx.get(f"{url}/v1/images/{new_id}/info").status_code == 404
        WebDriverWait(browser, 60).until(
            lambda d: _totals(d) == {f"{r['scale']:g}": r["offset"] for r in already["scales"][:-1]})


def test_the_gallery_works_without_javascript_and_at_phone_width(tmp_path, kinds, browser_without_js):
    browser = browser_without_js
    with running_server(tmp_path / "store", *INLINE) as server:
        url = server.url
        photo = upload(url, kinds["420_q75"])
        smooth = upload(url, smooth_jpeg())
        assert len({row["offset"] for row in smooth["scales"][:-1]}) == 1  # what the note explains
        browser.get(f"{url}/")
        for record in (photo, smooth):
            figure = _figure(browser, record["id"])
            _assert_sizes(figure, record)
            WebDriverWait(browser, 60).until(lambda d, f=figure: _image_loaded(d, f))
        # page.js never ran (it would have shown the buttons it wires up): this was the page alone.
        assert not any(b.is_displayed() for b in browser.find_elements(By.CSS_SELECTOR, ".actions button"))
        assert _figure(browser, smooth["id"]).find_elements(By.CSS_SELECTOR, ".note")
        assert not _figure(browser, photo["id"]).find_elements(By.CSS_SELECTOR, ".note")
        assert set(_totals(browser)) == {"0.1", "0.25", "0.5"}
        screenshot(browser, "page-no-js")

        browser.set_window_size(*PHONE)
        browser.get(f"{url}/")
        WebDriverWait(browser, 60).until(lambda d: _image_loaded(d, _figure(d, photo["id"])))
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(browser, "page-phone")


def test_the_page_works_when_image_urls_are_signed(tmp_path, kinds, browser):
    with running_server(tmp_path / "store", "--url-key", "k3y") as server:
        url = server.url
        info = upload(url, kinds["gray"])
        assert httpx.get(f"{url}/v1/images/{info['id']}", params={"scale": 0.1}).status_code == 403
        browser.get(f"{url}/")
        figure = _figure(browser, info["id"])
        srcset = figure.find_element(By.TAG_NAME, "img").get_attribute("srcset")
        assert srcset.count("&sig=") == len(info["scales"])
        WebDriverWait(browser, 60).until(lambda d: _image_loaded(d, figure))


def test_api_docs_render_from_the_server_alone(tmp_path, browser):
    with running_server(tmp_path / "store", *INLINE) as server:
        browser.get(f"{server.url}/docs")
        operations = WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary"))
        paths = {op.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text for op in operations}
        assert "/v1/images/{image_id}" in {p.replace("\u200b", "") for p in paths}
        sources = browser.execute_script(
            "return [...document.querySelectorAll('script[src], link[href]')].map(e => e.src || e.href)")
        assert sources and all(s.startswith(server.url) for s in sources)
        screenshot(browser, "docs")
