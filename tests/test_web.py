"""The round trip on the web page, in a real browser (Chromium, headless, driven by
Selenium): a department opens its link, downloads its template, fills it, uploads it with a
planted fault and reads 已退回 with the fault at its cell, downloads the annotated copy,
uploads the corrected file and reads 已接收; the office's board then shows it accepted and
the ledger it downloads holds its figures to the cent. A screenshot of each page is kept
under tests/output/web."""

from __future__ import annotations

import shutil
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.web_server import ADMIN_TOKEN, ROOT, Server, serving

FILLED = ROOT / "samples" / "inbox" / "440100003-广州市老人院-第2次.xlsx"  # a filled template
CODE, NAME = "440100003", "广州市老人院"
SHOTS = ROOT / "tests" / "output" / "web"


def browser(downloads: Path) -> webdriver.Chrome:
    """Chromium, headless, saving downloads into `downloads`. Debian's chromium and
    chromium-driver are required (.ci/run installs them)."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.fail("Chromium is required: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1400", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads),
                  "download.prompt_for_download": False},
    )  # fmt: skip
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    chrome.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return chrome


def downloaded(folder: Path, before: set[Path], timeout: float = 30) -> Path:
    """The file a click just downloaded into `folder`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in folder.iterdir() if p not in before and p.suffix != ".crdownload"]
        if new:
            return new[0]
        time.sleep(0.1)
    raise AssertionError("nothing was downloaded")


def shot(chrome: webdriver.Chrome, name: str, *texts: str) -> str:
    """Keep a screenshot of the page; the page's text, checked for `texts`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    chrome.save_screenshot(str(SHOTS / f"{name}.png"))
    text = chrome.find_element(By.TAG_NAME, "body").text
    for expected in texts:
        assert expected in text, (name, expected, text[:2000])
    return text


def fill(template: Path, target: Path, fiscal_of_first: object) -> list[Decimal]:
    """The downloaded template filled with the sample's projects and indicators (values
    only; its formulas and row ids stay), the first project's 财政专户拨款 set as given.
    The projects' 总计, as the sources add up."""
    source = openpyxl.load_workbook(FILLED)
    book = openpyxl.load_workbook(template)
    totals = []
    for sheet in ("项目", "指标"):
        ws, filled = book[sheet], source[sheet]
        for row in filled.iter_rows(min_row=4, max_col=9):
            for cell in row:
                if cell.value is not None and not str(cell.value).startswith("="):
                    ws.cell(cell.row, cell.column).value = cell.value
    ws = book["项目"]
    ws["G4"] = fiscal_of_first
    for row in ws.iter_rows(min_row=4, max_col=8, values_only=True):
        if row[2]:
            totals.append(sum((Decimal(str(v)) for v in row[5:8] if v is not None), Decimal(0)))
    book.save(target)
    return totals


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[webdriver.Chrome, Path]]:
    downloads = tmp_path_factory.mktemp("downloads")
    driver = browser(downloads)
    try:
        yield driver, downloads
    finally:
        driver.quit()


def test_a_department_hands_in_its_file_and_the_office_sees_it(
    server: Server, chrome: tuple[webdriver.Chrome, Path], tmp_path: Path
) -> None:
    driver, downloads = chrome
    link = server.links[CODE]
    driver.get(link)
    shot(driver, "1-department", NAME, CODE, "未提交", "下载项目支出绩效目标表模板", "上传并校验")

    before = set(downloads.iterdir())
    driver.find_element(By.ID, "template-project").click()
    template = downloaded(downloads, before)
    assert openpyxl.load_workbook(template)["项目"]["B3"].value == "项目编码"

    wrong = tmp_path / "老人院-填好.xlsx"
    fill(template, wrong, -20)
    driver.find_element(By.ID, "file").send_keys(str(wrong))
    driver.find_element(By.ID, "send").click()
    text = shot(driver, "2-rejected", "已退回", "G4", "财政专户拨款")
    assert "修改建议" in text
    rows = driver.find_elements(By.CSS_SELECTOR, "#issues tr")
    assert any("G4" in r.text and "错误" in r.text for r in rows)

    before = set(downloads.iterdir())
    driver.find_element(By.ID, "annotated").click()
    copy = openpyxl.load_workbook(downloaded(downloads, before))
    assert copy.sheetnames[0] == "校验结果"
    results = [r for r in copy["校验结果"].iter_rows(min_row=2, values_only=True)]
    assert any(r[2] == "项目" and r[3] == "G4" and r[1] == "错误" for r in results)
    assert copy["项目"]["G4"].fill.fgColor.rgb.endswith("FFC7CE")  # red

    right = tmp_path / "老人院-改好.xlsx"
    totals = fill(template, right, 20)
    driver.get(link)
    # Dropped on the page this time: the file (given to the browser through the chooser)
    # is dropped onto the zone, which sends it at once.
    driver.find_element(By.ID, "file").send_keys(str(right))
    driver.execute_script(
        "const moved = new DataTransfer(); moved.items.add(arguments[0].files[0]);"
        "arguments[1].dispatchEvent(new DragEvent('drop', {dataTransfer: moved}));",
        driver.find_element(By.ID, "file"), driver.find_element(By.ID, "drop"),
    )  # fmt: skip
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "verdict"))
    shot(driver, "3-accepted", "已接收", "共发现 0 个错误")
    driver.get(link)
    shot(driver, "4-department-after", "已接收", "已退回")  # the history keeps both

    # What was accepted, in a fresh template, to revise and hand in again.
    before = set(downloads.iterdir())
    driver.find_element(By.ID, "filled-project").click()
    again = openpyxl.load_workbook(downloaded(downloads, before))["项目"]
    sent = openpyxl.load_workbook(right)["项目"]
    for ref in ("B4", "C4", "F4", "G4", "C5", "F5"):
        assert again[ref].value == sent[ref].value, ref

    driver.get(f"{server.url}/admin")
    driver.find_element(By.ID, "password").send_keys("wrong")
    driver.find_element(By.ID, "login").click()
    shot(driver, "5-login-failed", "口令不对")
    driver.find_element(By.ID, "password").send_keys(ADMIN_TOKEN)
    driver.find_element(By.ID, "login").click()
    text = shot(driver, "6-office", "填报情况", "催报名单", NAME)
    row = driver.find_element(By.ID, f"row-{CODE}").text
    assert "已接收" in row

    cookie = driver.get_cookie("perfxl_admin")
    assert cookie is not None
    request = urllib.request.Request(
        f"{server.url}/admin/ledger.xlsx", headers={"Cookie": f"perfxl_admin={cookie['value']}"}
    )
    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(urllib.request.urlopen(request, timeout=60).read())
    sheet = CalamineWorkbook.from_path(str(ledger)).get_sheet_by_name("项目明细").to_python()
    header = [str(v) for v in sheet[0]]
    mine = [dict(zip(header, r, strict=False)) for r in sheet[1:] if str(r[0]) == CODE]
    assert len(mine) == len(totals)
    assert [Decimal(str(r["总计"])).quantize(Decimal("0.01")) for r in mine] == [
        t.quantize(Decimal("0.01")) for t in totals
    ]
    sample = openpyxl.load_workbook(FILLED)["项目"]
    before = sum(Decimal(str(v)) for row in sample.iter_rows(min_row=4, min_col=6, max_col=8,
                 values_only=True) for v in row if v is not None)  # fmt: skip
    assert sum(totals) == before + 20  # the sample's, with the 20 of the corrected cell
