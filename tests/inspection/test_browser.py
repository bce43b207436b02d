"""The inspection site driven in a headless Chromium, as an inspector uses it."""

import re
import shutil
import time
from datetime import datetime

import pytest
from astropy.table import Table

from ggsltools.inspection import read_inspection, write_site

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "headless browser tests need chromium and chromedriver on PATH "
            "(Debian: apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.downloads = downloads
    yield driver
    driver.quit()


def press(driver, *keys):
    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def test_score_reload_and_export(browser, mock_field, tmp_path):
    field, _ = mock_field
    members = field.members[:5]
    members["probability"] = [0.91, 0.25, 0.5, 0.75, 0.125]
    ids = [str(i) for i in members["id"]]
    paths = write_site(
        field.images, members, tmp_path / "site", redshifts=field.galaxies, z_cluster=0.4
    )
    browser.get(paths["html"].as_uri())
    assert browser.find_element(By.ID, "name-dialog").is_displayed()
    browser.find_element(By.ID, "inspector-name").send_keys("Ada Lovelace", Keys.ENTER)
    assert not browser.find_element(By.ID, "name-dialog").is_displayed()
    assert text(browser, "progress") == "object 1 / 5 · scored 0"
    assert text(browser, "object-id") == ids[0]
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.getElementById('img-rgb').naturalWidth") > 0
    )
    # The probability is hidden until asked for.
    assert text(browser, "probability") == "hidden (P to show)"
    press(browser, "p")
    assert text(browser, "probability") == "0.910"
    press(browser, "p")
    assert text(browser, "probability") == "hidden (P to show)"

    press(browser, "y")  # object 0: +1
    press(browser, "c")
    comment = browser.find_element(By.ID, "comment")
    assert browser.switch_to.active_element == comment
    comment.send_keys('arc, "bright" NE', Keys.ENTER)
    press(browser, "m")  # object 1: +0.5 with the comment
    press(browser, Keys.SPACE)  # object 2: skipped
    press(browser, "n")  # object 3: -1
    assert text(browser, "object-id") == ids[4]
    press(browser, "b", Keys.ARROW_LEFT)  # back to object 2
    assert text(browser, "object-id") == ids[2]
    assert text(browser, "current-score") == "none"
    press(browser, "n")  # object 2: -1
    time.sleep(0.01)  # the new score of object 3 is later
    press(browser, "y")  # object 3: changed to +1
    assert text(browser, "progress") == "object 5 / 5 · scored 4"

    browser.refresh()  # scores, position and name survive a reload
    assert not browser.find_element(By.ID, "name-dialog").is_displayed()
    assert text(browser, "progress") == "object 5 / 5 · scored 4"
    assert text(browser, "inspector-label") == "inspector: Ada Lovelace"
    press(browser, "b")
    assert text(browser, "current-score") == "+1 lens"
    press(browser, "b", "b")
    assert text(browser, "current-score") == "+0.5 possible"
    assert browser.find_element(By.ID, "comment").get_attribute("value") == 'arc, "bright" NE'
    press(browser, "z")
    assert browser.find_element(By.ID, "zoom").is_displayed()
    press(browser, Keys.ESCAPE, "e")

    exported = browser.find_element(By.ID, "export-text").get_attribute("value")
    assert exported.splitlines()[:2] == ["# %ECSV 1.0", "# ---"]
    rows = [
        re.sub(r" \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", " TIME ", line)
        for line in exported.splitlines()[14:]
    ]
    assert rows == [
        "inspector time id score comment",
        f'"Ada Lovelace" TIME "{ids[0]}" 1.0 ""',
        f'"Ada Lovelace" TIME "{ids[1]}" 0.5 "arc, ""bright"" NE"',
        f'"Ada Lovelace" TIME "{ids[2]}" -1.0 ""',
        f'"Ada Lovelace" TIME "{ids[3]}" 1.0 ""',
    ]
    assert not browser.find_element(By.ID, "storage-warning").is_displayed()
    path = tmp_path / "ada.ecsv"
    path.write_text(exported)
    table = Table.read(path, format="ascii.ecsv")
    assert table.colnames == ["inspector", "time", "id", "score", "comment"]
    assert table.meta["site_id"] and table.meta["format"] == "ggsltools-inspection"
    rows = read_inspection(path)
    assert rows["inspector"].tolist() == ["Ada Lovelace"] * 4
    assert rows["id"].tolist() == ids[:4]
    assert rows["score"].tolist() == [1.0, 0.5, -1.0, 1.0]
    assert rows["comment"].tolist() == ["", 'arc, "bright" NE', "", ""]
    times = [datetime.fromisoformat(t) for t in rows["time"]]
    assert times[0] <= times[1] <= times[3] and times[2] < times[3]

    browser.find_element(By.ID, "download").click()
    WebDriverWait(browser, 30).until(lambda d: list(d.downloads.glob("*.ecsv")))
    (downloaded,) = browser.downloads.glob("*.ecsv")
    assert downloaded.name.endswith("_Ada_Lovelace.ecsv")
    assert downloaded.read_text() == exported
