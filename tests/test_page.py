"""The page at `/` in a real browser: Debian's chromium, headless, driven by Selenium, against the real server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import missing
from tools.processes import start_server

pytestmark = pytest.mark.e2e
CHROMIUM = Path(os.environ.get("ARXIV_EMBED_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("ARXIV_EMBED_CHROMEDRIVER", "/usr/bin/chromedriver"))
# no sandbox as root; no background traffic to hosts a closed network refuses
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1600",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """System chromium and its driver (`.ci/debian-packages.sh` installs them); missing ones fail under CI=true."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium and chromedriver are not installed: run `bash .ci/debian-packages.sh`")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def url(pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = {"ARXIV_EMBED_DATA_DIR": str(tmp_path_factory.mktemp("data"))}  # saved libraries on
    proc, base = start_server(["-m", "serve"], pipeline_repo / "models/bundle", data)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def paper(test_papers: pd.DataFrame) -> pd.Series:
    return test_papers.iloc[1]


def submit(browser: WebDriver, url: str, text: str) -> None:
    browser.get(url)
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "go").click()


def wait_for(browser: WebDriver, css: str):
    return WebDriverWait(browser, 60).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def result_links(browser: WebDriver) -> list[tuple[str, str]]:
    wait_for(browser, "#results li")
    return [(a.get_attribute("href"), a.text) for a in browser.find_elements(By.CSS_SELECTOR, "#results li a")]


def test_page_shows_the_index_and_model(browser: WebDriver, url: str, pipeline_repo: Path) -> None:
    browser.get(url)
    WebDriverWait(browser, 30).until(expected_conditions.text_to_be_present_in_element((By.ID, "about"), "papers"))
    about = browser.find_element(By.ID, "about").text
    manifest = json.loads((pipeline_repo / "models/manifest.json").read_text())
    assert f"Index: {manifest['corpus_size']:,} papers" in about and manifest["model_name"] in about


def test_pasted_abstract_gives_categories_and_ten_linked_results(browser: WebDriver, url: str, paper) -> None:
    submit(browser, url, f"{paper['title']}. {paper['abstract']}")
    links = result_links(browser)
    assert len(links) == 10
    assert all(href.startswith("https://arxiv.org/abs/") and title for href, title in links)
    assert links[0] == (f"https://arxiv.org/abs/{paper['id']}", paper["title"])  # the paper itself is indexed
    assert len(browser.find_elements(By.CSS_SELECTOR, "#categories .cat")) == 3


def test_arxiv_id_finds_the_papers_nearest_to_it(browser: WebDriver, url: str, paper) -> None:
    submit(browser, url, f" {paper['id']}v2 ")  # a versioned id, as copied from arxiv.org
    links = result_links(browser)
    assert paper["title"] in browser.find_element(By.ID, "out").text.split("Nearest papers")[0]
    assert len(links) == 10 and f"https://arxiv.org/abs/{paper['id']}" not in [href for href, _ in links]


@pytest.mark.parametrize(
    ("text", "message"), [("   ", "Paste a title and abstract"), ("0000.00000", "unknown paper id '0000.00000'")]
)
def test_empty_submit_and_unknown_id_show_the_error(browser: WebDriver, url: str, text: str, message: str) -> None:
    submit(browser, url, text)
    assert message in wait_for(browser, "#out .err").text


def test_results_show_a_date_and_a_readable_score(browser: WebDriver, url: str, paper) -> None:
    submit(browser, url, f"{paper['title']}. {paper['abstract']}")
    wait_for(browser, "#results li")
    items = browser.find_elements(By.CSS_SELECTOR, "#results li")
    dates = [item.find_element(By.CSS_SELECTOR, ".date").text for item in items]
    scores = [item.find_element(By.CSS_SELECTOR, ".score").text for item in items]
    assert all(len(d) >= 7 and d[:2] in ("19", "20") for d in dates)  # YYYY-MM from the id, or a datestamp
    assert all(s.startswith(("similarity 0.", "similarity 1.", "#")) for s in scores)


def test_pinned_papers_give_new_papers_like_them_and_a_feed_url(browser: WebDriver, url: str, paper) -> None:
    submit(browser, url, f"{paper['title']}. {paper['abstract']}")
    wait_for(browser, "#results li")
    browser.execute_script("localStorage.clear()")
    pins = browser.find_elements(By.CSS_SELECTOR, "#results button.pin")
    for pin in pins[:2]:
        pin.click()
    pinned = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#pinned li a")]
    assert len(pinned) == 2
    feed_url = browser.find_element(By.ID, "feed-url").get_attribute("value")
    assert feed_url.startswith(f"{url}/feed.atom?like=") and feed_url.count("like=") == 2
    browser.find_element(By.ID, "recommend").click()
    wait_for(browser, "#recommendations li")
    found = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#recommendations li a")]
    assert found and not set(found) & set(pinned)  # liked papers are never recommended back
    assert all(
        s.text.startswith("similarity") for s in browser.find_elements(By.CSS_SELECTOR, "#recommendations .score")
    )
    pinned_ids = {href.rsplit("/", 1)[1] for href in pinned}
    near = [
        s.text.removeprefix("near ").split(", ")
        for s in browser.find_elements(By.CSS_SELECTOR, "#recommendations .near")
    ]
    assert near and all(set(n) <= pinned_ids for n in near)  # each names the pinned papers it is near
    browser.get(url)  # the library is kept in the browser
    wait_for(browser, "#pinned li")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pinned li")) == 2
    browser.execute_script("localStorage.clear()")


def test_a_library_file_gives_new_papers_and_says_how_its_entries_were_used(
    browser: WebDriver, url: str, test_papers: pd.DataFrame, tmp_path: Path
) -> None:
    """The reader's whole export, chosen in the page's file input: no pinning needed."""
    held = test_papers.head(3)
    ris = tmp_path / "My Library.ris"
    ris.write_text(
        "".join(
            f"TY  - PREP\nTI  - {t}\nUR  - http://arxiv.org/abs/{i}v1\nER  - \n"
            for i, t in zip(held["id"], held["title"], strict=True)
        )
        + "TY  - BOOK\nTI  - Galaxy rotation curves and dark matter halos\nER  - \n"
    )
    browser.get(url)
    browser.execute_script("localStorage.clear()")
    browser.find_element(By.ID, "library-file").send_keys(str(ris))
    browser.find_element(By.ID, "recommend").click()
    wait_for(browser, "#recommendations li")
    said = browser.find_element(By.ID, "file-used").text
    assert said.startswith("Your file: 4 entries, 3 matched by arXiv id, 1 read by their title and abstract")
    found = {
        a.get_attribute("href").rsplit("/", 1)[1]
        for a in browser.find_elements(By.CSS_SELECTOR, "#recommendations li a")
    }
    assert found and not found & set(held["id"])


def test_a_saved_library_has_a_private_feed_that_follows_the_pins(browser: WebDriver, url: str, paper) -> None:
    submit(browser, url, f"{paper['title']}. {paper['abstract']}")
    wait_for(browser, "#results li")
    browser.execute_script("localStorage.clear()")
    pins = browser.find_elements(By.CSS_SELECTOR, "#results button.pin")
    pins[0].click()
    browser.find_element(By.ID, "save").click()
    wait_for(browser, "#saved-id")
    feed_url = browser.find_element(By.ID, "feed-url").get_attribute("value")
    assert feed_url.startswith(f"{url}/feeds/") and feed_url.endswith(".atom")
    pins[1].click()  # pinned after saving: the saved library takes it
    WebDriverWait(browser, 30).until(expected_conditions.text_to_be_present_in_element((By.ID, "saved"), "version 2"))
    kept = json.loads(browser.execute_script("return localStorage.getItem('arxiv-embed-saved')"))
    owner = {"Authorization": f"Bearer {kept['owner_secret']}"}
    liked = httpx.get(f"{url}/libraries/{kept['id']}", headers=owner).json()["library"]["like"]
    pinned = [b.get_attribute("data-id") for b in pins[:2]]
    assert liked == pinned
    feed = httpx.get(feed_url)
    assert feed.status_code == 200 and "<entry>" in feed.text
    browser.execute_script("localStorage.clear()")
