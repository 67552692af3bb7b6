"""The report page in a real headless Chromium: it renders, every image loads, the console stays clean.

Debian's chromium and chromium-driver are driven through Selenium with explicit
paths and ``SE_OFFLINE``, so Selenium Manager never downloads a browser or driver.
The page is opened from a ``file://`` URL, as a user opens it offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from evaluate_workspace import make_config, make_workspace
from headless_chromium import start_chromium
from report_data import finish_eval, write_check_report

from shochu.evaluate import report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SECTIONS = ["Preflight check", "Dataset", "Training", "Evaluation", "Stage timings", "Ingest and protect counts",
            "Sample test examples"]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_student_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("report-chromium")
    workspace = make_workspace(root, tiny_model_dir, tiny_student_dir)
    finish_eval(workspace)
    write_check_report(workspace)
    report.run(make_config(root), workspace)
    return workspace.stage_dir("report") / "report.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found; install Debian's chromium and chromium-driver "
                    f"with scripts/system-deps.sh (as root)", pytrace=False)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SE_OFFLINE", "true")
    driver = start_chromium(CHROMIUM, CHROMEDRIVER, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()
        monkeypatch.undo()


@pytest.fixture(scope="module")
def opened(browser, report_page: Path):
    browser.get(report_page.as_uri())
    browser.execute_script("return document.readyState")
    return browser


def test_title_and_heading(opened) -> None:
    from selenium.webdriver.common.by import By

    assert opened.title == "Shochu run report"
    assert opened.find_element(By.TAG_NAME, "h1").text == "Shochu run report"


def test_sections_in_order(opened) -> None:
    from selenium.webdriver.common.by import By

    headings = [element.text for element in opened.find_elements(By.TAG_NAME, "h2")]
    assert headings == SECTIONS


def test_tables_visible(opened) -> None:
    from selenium.webdriver.common.by import By

    for table_id in ("preflight-licences", "preflight-memory", "preflight-cost", "eval-models", "eval-tasks",
                     "eval-gap"):
        table = opened.find_element(By.ID, table_id)
        assert table.is_displayed(), table_id
        assert table.size["height"] > 20, table_id


def test_interval_cell_text(opened) -> None:
    from selenium.webdriver.common.by import By

    cells = [cell.text for cell in opened.find_elements(By.CSS_SELECTOR, "#eval-tasks td")]
    assert "0.4000 [0.3000, 0.5000]" in cells


def test_every_image_loaded(opened) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(opened, 15).until(
        lambda driver: driver.execute_script("return Array.from(document.images).every(image => image.complete)"))
    images = opened.execute_script(
        "return Array.from(document.images).map(image => [image.alt, image.naturalWidth, image.naturalHeight])")
    assert [alt for alt, _, _ in images] == ["training curves", "evaluation summary", "primary metric per task"]
    for alt, width, height in images:
        assert width > 0, alt
        assert height > 0, alt


def test_console_has_no_errors(opened) -> None:
    entries = opened.get_log("browser")
    errors = [entry for entry in entries if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def test_nothing_fetched_over_network(opened) -> None:
    urls = opened.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert [url for url in urls if not url.startswith(("data:", "file:"))] == []
