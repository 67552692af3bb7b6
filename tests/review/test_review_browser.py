"""The review page in a real headless Chromium: accept, reject and edit, then read decisions.jsonl."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from headless_chromium import start_chromium

from shochu.config import ReviewConfig
from shochu.review.sample import ensure_sample
from shochu.review.server import ReviewServer
from shochu.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
_EDITED = "請求書は毎月二十五日までに提出します。\nSecond line of the edit."

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: this test drives Debian's chromium through "
                    f"chromium-driver; install them with scripts/system-deps.sh (as root)", pytrace=False)
    # Explicit paths for both binaries, and offline mode, so Selenium Manager never downloads a driver.
    monkeypatch.setenv("SE_OFFLINE", "true")
    driver = start_chromium(CHROMIUM, CHROMEDRIVER, tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


def test_review_page_in_chromium(review_workspace: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    review = ReviewConfig(sample_size=10, port=0)
    sample = ensure_sample(Workspace(review_workspace), review, run_seed=0)
    accepted, rejected, edited = sample[0], sample[1], sample[2]
    wait = WebDriverWait(browser, 15)

    def card(example: dict):
        return browser.find_element(By.CSS_SELECTOR, f'article.card[data-id="{example["id"]}"]')

    def decided(example: dict, decision: str) -> None:
        wait.until(lambda _: card(example).get_attribute("data-decision") == decision)

    with ReviewServer(review_workspace, sample, review) as server:
        browser.get(server.url)
        wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, "article.card")) == len(sample))
        # PII placeholders in the masked source are shown, and highlighted.
        marks = [mark.text for mark in card(accepted).find_elements(By.CSS_SELECTOR, ".source mark")]
        assert marks == re.findall(r"\[[A-Z_]+_\d+\]", accepted["source"])
        assert marks

        # Accept the first card with the keyboard: the page selects the first undecided card.
        assert "current" in card(accepted).get_attribute("class")
        browser.find_element(By.TAG_NAME, "body").send_keys("a")
        decided(accepted, "accept")

        # Reject the second with a reason, confirmed by Enter.
        card(rejected).find_element(By.CSS_SELECTOR, 'button[data-action="reject"]').click()
        reason = card(rejected).find_element(By.CSS_SELECTOR, "input.reason")
        wait.until(lambda _: reason.is_displayed())
        reason.send_keys("答えが原文に書かれていない", Keys.ENTER)
        decided(rejected, "reject")

        # Edit the third: replace the response and save.
        card(edited).find_element(By.CSS_SELECTOR, 'button[data-action="edit"]').click()
        editor = card(edited).find_element(By.CSS_SELECTOR, "textarea.editor")
        wait.until(lambda _: editor.is_displayed())
        assert editor.get_attribute("value") == edited["response"]
        editor.clear()
        editor.send_keys(_EDITED)
        card(edited).find_element(By.CSS_SELECTOR, "button.save-edit").click()
        decided(edited, "edit")

        assert browser.find_element(By.ID, "progress").text == f"3 / {len(sample)} reviewed"
        all_row = browser.find_element(By.CSS_SELECTOR, '#strata tr[data-stratum="all"]')
        assert all_row.find_elements(By.TAG_NAME, "td")[-1].text == "33%"
        assert "rejected: 答えが原文に書かれていない" in card(rejected).find_element(By.CSS_SELECTOR, ".badge").text
        console = browser.get_log("browser")

    lines = server.decisions_path.read_text(encoding="utf-8").splitlines()
    stored = [json.loads(line) for line in lines]
    assert [(record["id"], record["decision"]) for record in stored] == [
        (accepted["id"], "accept"), (rejected["id"], "reject"), (edited["id"], "edit")]
    assert stored[0]["reason"] == ""
    assert "response" not in stored[0]
    assert stored[1]["reason"] == "答えが原文に書かれていない"
    assert stored[2]["response"] == _EDITED
    assert [record["stratum"] for record in stored] == [accepted["stratum"], rejected["stratum"], edited["stratum"]]

    errors = [entry for entry in console if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
