"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against
the service on a loopback port over a round cleared, priced and closed, whose winning future
was then redeemed and judged. Screenshots of the main views go to the test's directory, and
to docs/img/ (the README's pictures) with RCM_SCREENSHOTS=1, so that a test run leaves the tree
as it was. Without Chromium the tests fail with the command to install it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from chain.amounts import amount_text, epsilon_text
from chain.config import PROJECT_ROOT
from chain.ledger import Dataset
from service.background import Service, opened, serving
from tests.service.market_fixtures import WINNING_UNITS, ClearedRound, JudgedJob

CHROMIUM = Path("/usr/bin/chromium")
DOCS_IMAGES = PROJECT_ROOT / "docs" / "img"
LIVE_UPDATE_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: install it with `apt-get install -y "
                    "chromium` as root (scripts/bootstrap.sh does when it can)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(cleared: ClearedRound, judged: JudgedJob, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Service, str]]:
    path = tmp_path_factory.mktemp("dashboard") / "market.sqlite"
    # The indexer syncs from the test's thread only: the embedded chain is not thread-safe,
    # and the server reads the store alone.
    with opened(cleared.market.system, path) as service, serving(service.relay) as url:
        service.indexer.sync()
        yield service, url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: docs/img/ when asked (RCM_SCREENSHOTS=1), else a scratch
    directory."""
    if os.environ.get("RCM_SCREENSHOTS") == "1":
        return DOCS_IMAGES
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 800})
    yield context.new_page()
    context.close()


def test_the_rounds_page_lists_the_round(cleared: ClearedRound, served: tuple[Service, str],
                                        page: Page, shots: Path) -> None:
    _, url = served
    page.goto(f"{url}/rounds")
    row = page.locator(f'tr[data-round="{cleared.round_id}"]')
    expect(row.locator("td.phase")).to_have_text("closed")
    page.screenshot(path=shots / "rounds.png", full_page=True)


def test_the_round_page_shows_the_winner_and_a_losers_reason(
        cleared: ClearedRound, served: tuple[Service, str], page: Page, shots: Path) -> None:
    _, url = served
    page.goto(f"{url}/rounds")
    page.click(f'tr[data-round="{cleared.round_id}"] a')
    winner = page.locator(f'tr[data-bid="{cleared.digest(cleared.winner)}"]')
    expect(winner.locator("td.outcome")).to_have_text("won")
    loser = page.locator(f'tr[data-bid="{cleared.digest(cleared.outbid)}"]')
    expect(loser.locator("td.reason")).to_have_text("outbid")
    expect(loser.locator("td.detail")).to_contain_text("4 left after higher-value bids")
    page.screenshot(path=shots / "round.png", full_page=True)
    page.select_option("select[name=reason]", "below_reserve")
    page.click("form.filter button")
    expect(page.locator("table.bids tbody tr")).to_have_count(1)
    expect(page.locator("table.bids td.reason")).to_have_text("below_reserve")


def test_the_prices_page_draws_the_chart(served: tuple[Service, str], page: Page,
                                         shots: Path) -> None:
    _, url = served
    page.goto(f"{url}/prices")
    expect(page.locator("#chart svg").first).to_be_visible()
    expect(page.locator("#chart svg path[aria-roledescription='line mark']").first
           ).to_be_attached()
    page.screenshot(path=shots / "prices.png", full_page=True)


def test_a_rounds_winner_leads_to_its_future_and_its_verdict(
        cleared: ClearedRound, judged: JudgedJob, served: tuple[Service, str],
        page: Page, shots: Path) -> None:
    _, url = served
    page.goto(f"{url}/rounds/{cleared.round_id}")
    page.click(f'tr[data-bid="{judged.job}"] a.future')
    future = page.locator(f'tr[data-future="{judged.job}"]')
    expect(future.locator("td.holder")).to_have_text(judged.redeemer)
    expect(future.locator("td.status")).to_have_text("voided")
    page.screenshot(path=shots / "futures.png", full_page=True)
    future.locator("td.status a").click()
    verdict = page.locator(f'tr[data-job="{judged.job}"]')
    expect(verdict.locator("td.outcome")).to_have_text("violation")
    expect(verdict.locator(f'td.signers [title="{judged.signers[0]}"]')).to_be_visible()
    expect(verdict.locator("td.burned")).to_have_text(
        amount_text(judged.stake_burned_wei, "cst"))
    page.screenshot(path=shots / "verdicts.png", full_page=True)


def test_the_safety_page_draws_the_stakes_and_the_burn(
        judged: JudgedJob, served: tuple[Service, str], page: Page, shots: Path) -> None:
    _, url = served
    page.goto(f"{url}/safety")
    expect(page.locator("#chart svg path[aria-roledescription='line mark']").first
           ).to_be_attached()
    burned = page.locator(f'tr[data-account="{judged.redeemer}"] td.stake_burned')
    expect(burned).to_have_text(amount_text(judged.stake_burned_wei, "cst"))
    page.screenshot(path=shots / "safety.png", full_page=True)


def test_the_budgets_page_draws_the_epsilon_and_shows_what_was_consumed(
        cleared: ClearedRound, served: tuple[Service, str], page: Page, shots: Path) -> None:
    _, url = served
    market = cleared.market
    state = Dataset.read(market.system.ledger, market.dataset)
    page.goto(f"{url}/budgets")
    expect(page.locator("#chart svg path[aria-roledescription='line mark']").first
           ).to_be_attached()
    dataset = page.locator(f'tr[data-dataset="0x{market.dataset:064x}"]')
    expect(dataset.locator("td.registered")).to_have_text(epsilon_text(state.total_micro_epsilon))
    expect(dataset.locator("td.consumed")).to_have_text(
        epsilon_text(state.consumed_micro_epsilon))
    expect(dataset.locator("td.purposes")).to_contain_text("research")
    page.screenshot(path=shots / "budgets.png", full_page=True)


def test_the_market_page_shows_idle_units_and_the_solvers_record(
        cleared: ClearedRound, served: tuple[Service, str], page: Page, shots: Path) -> None:
    _, url = served
    page.goto(f"{url}/rounds/{cleared.round_id}")
    label = page.locator("table.items tbody tr").first.locator("td").nth(1).inner_text()
    page.click("nav a[href='/market']")
    item = page.locator(f'tr[data-label="{label}"]')
    expect(item.locator("td.idle")).to_have_text(str(10 - WINNING_UNITS))
    expect(item.locator("td.volatility")).to_have_text("n/a")
    expect(page.locator("p.optimal .share")).to_have_text("100.00%")
    page.screenshot(path=shots / "market.png", full_page=True)


def test_a_new_round_appears_on_the_rounds_page_without_a_reload(
        cleared: ClearedRound, served: tuple[Service, str], page: Page) -> None:
    service, url = served
    page.goto(f"{url}/rounds")
    page.evaluate("window.loadedOnce = true")
    round_id = cleared.market.open_round()
    service.indexer.sync()
    row = page.locator(f'tr[data-round="{round_id}"]')
    expect(row).to_be_visible(timeout=LIVE_UPDATE_MS)
    expect(row.locator("td.phase")).to_have_text("commit")
    assert page.evaluate("window.loadedOnce") is True  # htmx swapped the table, not the page
