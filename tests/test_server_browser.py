"""The page in real headless Chromium: upload a photo through the form and see it appear with its sizes.

Skips when Chromium, its driver or selenium is missing; `./bootstrap.sh test` installs them.
"""

from __future__ import annotations

import shutil

import httpx
import pytest

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


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    # An explicit driver path: selenium then never runs Selenium Manager (no downloads).
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def _image_loaded(driver, figure) -> bool:
    return driver.execute_script("return arguments[0].querySelector('img').naturalWidth > 0", figure)


def test_upload_through_the_page_shows_the_image_with_its_sizes(tmp_path, kinds, browser):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(kinds["420_q75"])
    with running_server(tmp_path / "store") as server:
        url = server.url
        already = httpx.post(f"{url}/v1/images", content=kinds["gray"], headers={"Content-Type": "image/jpeg"}).json()
        browser.get(f"{url}/")
        wait = WebDriverWait(browser, 60)
        # The gallery lists what is stored...
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'figure[data-id="{already["id"]}"]'))

        # ...and an upload through the form appears in it, with every size.
        browser.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(photo))
        browser.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
        new_id = ids.image_id(kinds["420_q75"])
        uploaded = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'figure[data-id="{new_id}"]'))[0]
        assert browser.find_element(By.ID, "status").text == f"Stored {new_id}"
        record = httpx.get(f"{url}/v1/images/{new_id}/info").json()

        srcset = uploaded.find_element(By.TAG_NAME, "img").get_attribute("srcset")
        for row in record["scales"]:
            assert f"/v1/images/{record['id']}?scale={row['scale']:g} {row['width']}w" in srcset
        rows = uploaded.find_elements(By.CSS_SELECTOR, "tr.size")
        assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == \
            [f"{row['width']}\u00d7{row['height']}" for row in record["scales"]]
        assert [int(r.find_elements(By.TAG_NAME, "td")[2].text.replace(",", "")) for r in rows] == \
            [row["offset"] for row in record["scales"]]
        wait.until(lambda d: _image_loaded(d, uploaded))


def test_the_page_works_when_image_urls_are_signed(tmp_path, kinds, browser):
    with running_server(tmp_path / "store", "--url-key", "k3y") as server:
        url = server.url
        info = httpx.post(f"{url}/v1/images", content=kinds["gray"], headers={"Content-Type": "image/jpeg"}).json()
        assert httpx.get(f"{url}/v1/images/{info['id']}", params={"scale": 0.1}).status_code == 403
        browser.get(f"{url}/")
        figure = WebDriverWait(browser, 60).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f'figure[data-id="{info["id"]}"]'))[0]
        srcset = figure.find_element(By.TAG_NAME, "img").get_attribute("srcset")
        assert srcset.count("&sig=") == len(info["scales"])
        WebDriverWait(browser, 60).until(lambda d: _image_loaded(d, figure))
