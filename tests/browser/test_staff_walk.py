"""The staff and public pages in Chromium, on a phone (390×844) and a desk (1280×800), in Chinese
and English: the counter's typed code → preview → confirm, its settlement, the bureau's home and
each queue, a filing batch, the verifier's batch, the audit log, the catalogue, the dashboard, a
certificate and the landing page. Each page is checked by axe-core (vendored) for serious or
critical accessibility violations, must not scroll sideways, and is saved as a screenshot."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from flask import current_app

from app import clock, context
from app.accounts import approvals
from app.accounts import services as accounts
from app.accounts.models import User
from app.activities import self_reports
from app.audit.services import Actor
from app.dashboard import services as dashboard
from app.demo import DEMO_PASSWORD
from app.filings import bundling, claims, services
from app.merchants.models import Offer
from app.methodology import services as methodology
from app.methodology.models import MethodologyVersion, VersionStatus
from app.redemption.issuing import issue_token
from app.roles import Role
from tests.browser.axe import serious_violations
from tests.browser.conftest import serve
from tests.factories import make_user
from tests.filings.support import SETTINGS, make_reduction, raw_reduction, shanghai

pytestmark = pytest.mark.browser

VARIANTS = [(390, 844, "zh"), (390, 844, "en"), (1280, 800, "zh"), (1280, 800, "en")]


@dataclass
class Scene:
    url: str
    codes: list[str]
    draft_id: int
    certificate: str


def _receipt() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 480), (240, 236, 220)).save(buffer, format="PNG")
    return buffer.getvalue()


def _seed(session: sa.orm.Session) -> tuple[list[str], int, str]:
    """Work for every queue: a self-report with a receipt, a draft and an accepted batch, an
    approved offset claim with its certificate, and QR codes of the demo resident to type in."""
    resident = session.scalar(sa.select(User).where(User.mobile == "13800000001"))
    bus = session.scalar(
        sa.select(MethodologyVersion).where(
            MethodologyVersion.code == "bus", MethodologyVersion.status == VersionStatus.APPROVED
        )
    )
    raw_reduction(session, bus, resident, shanghai(2026, 5, 2, 8), 2_500_000)  # two units
    for day in (3, 4, 5):
        make_reduction(session, bus, resident, shanghai(2026, 5, day, 8), km="30")
        make_reduction(session, bus, resident, shanghai(2026, 6, day, 8), km="12.5")
    staff = [Actor(make_user(session, Role.BUREAU_REVIEWER).id, Role.BUREAU_REVIEWER)]
    staff += [Actor(make_user(session, Role.BUREAU_REVIEWER).id, Role.BUREAU_REVIEWER)]
    accepted = bundling.bundle_month(session, SETTINGS, bus.id, date(2026, 5, 1))
    services.approve(session, staff[0], accepted.id)
    services.approve(session, staff[1], accepted.id)
    services.submit(session, staff[0], accepted.id, registry_reference="CCER-YC-2026-0007")
    services.accept(session, staff[1], accepted.id, city_code="YC")
    draft = bundling.bundle_month(session, SETTINGS, bus.id, date(2026, 6, 1))
    organisation = accounts.organisation_of(
        session, session.scalar(sa.select(User).where(User.mobile == "13700000001"))
    )
    rules = claims.ClaimRules(yearly_cap_g=100_000_000, tz=context.city_zone())
    claim = claims.request_claim(
        session, Actor(organisation.account_id, Role.ORGANISATION), rules,
        organisation_id=organisation.id, event_name="银川绿色马拉松", event_date=date(2026, 9, 20),
        grams=1_000_000, beneficiary="银川绿色马拉松组委会",
    )  # fmt: skip
    admin = session.scalar(sa.select(User).where(User.mobile == "13900000001"))
    claims.approve_claim(session, Actor(admin.id, admin.role), claim.id)
    # Work the admin may not decide: its own request and its own submitted version, shown with
    # the reason in place of the buttons.
    as_admin = Actor(admin.id, admin.role)
    approvals.request_role_change(session, as_admin, staff[0].user_id, Role.VERIFIER)
    plugins = context.methodologies()
    open_codes = set(
        session.scalars(
            sa.select(MethodologyVersion.code).where(
                MethodologyVersion.status.in_([VersionStatus.DRAFT, VersionStatus.SUBMITTED])
            )
        )
    )
    code = next(code for code in sorted(plugins) if code not in open_codes)
    version = methodology.register_draft(session, as_admin, plugins[code])
    methodology.submit(session, as_admin, plugins, version.id)
    walker = session.scalar(sa.select(User).where(User.mobile == "13800000001"))
    kind = next(k for k in context.kind_catalogue().self_reportable() if k.code == "bike_trip")
    self_reports.report(
        session, walker.id, kind=kind.code, occurred_at=clock.now() - timedelta(hours=2),
        quantities=dict(kind.samples[0]), evidence=_receipt(),
        evidence_dir=current_app.config["EVIDENCE_DIR"], evidence_max_bytes=5_000_000,
        settings=context.pipeline_settings(),
    )  # fmt: skip
    offer = session.scalar(sa.select(Offer))
    offer.daily_limit = offer.monthly_limit = None  # one redemption per walk, four walks a day
    zone = context.city_zone()
    codes = [
        issue_token(
            session, holder_id=resident.id, offer_id=offer.id, now=clock.now(),
            lifetime_seconds=3600, key=context.token_key(), zone=zone,
        ).code
        for _walk in VARIANTS
    ]  # fmt: skip
    # What the scheduler's statistics job does within a minute of a change.
    dashboard.compute_changed(session, now=clock.now(), tz=zone)
    return codes, draft.id, claim.serial


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    overrides = {
        "OPERATOR_CONTACT": "0951-5012345",
        "OPERATOR_FILING_NUMBER": "宁ICP备2026000001号",
        "REDEMPTION_TOKEN_SECONDS": 3600,
    }
    with serve(tmp_path_factory.mktemp("walk"), seed=_seed, **overrides) as (url, seeded):
        codes, draft_id, certificate = seeded
        yield Scene(url, codes, draft_id, certificate)


def _sign_in(page, scene: Scene, mobile: str) -> None:
    page.context.clear_cookies(name="session")
    page.goto(scene.url + "/sign-in")
    page.locator("input[name=mobile]").fill(mobile)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if "/sign-in/second-factor" not in page.url:
        return
    # Bureau staff: the first sign-in enrols an authenticator, later ones spend a recovery code
    # (a TOTP code is good once per 30 seconds, and the walk signs in more often than that).
    secret = page.locator("code.secret")
    if secret.count():
        page.locator("input[name=code]").fill(pyotp.TOTP(secret.inner_text()).now())
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        _RECOVERY_CODES[mobile] = page.locator("ul.recovery-codes code").all_inner_texts()
        page.locator("main a.button.primary").click()
    else:
        page.locator("input[name=code]").fill(_RECOVERY_CODES[mobile].pop())
        page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


#: Recovery codes shown at enrolment, per staff number, for the walk's server.
_RECOVERY_CODES: dict[str, list[str]] = {}


class Walk:
    """Visits pages, checks each with axe and for sideways scrolling, keeps a screenshot."""

    def __init__(self, page, folder: Path, prefix: str) -> None:
        self.page, self.folder, self.prefix = page, folder, prefix
        self.problems: list[str] = []
        self.step = 0

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state()
        self.step += 1
        page.screenshot(path=str(self.folder / f"{self.prefix}-{self.step:02d}-{name}.png"),
                        full_page=True)  # fmt: skip
        if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
            self.problems.append(f"{name}: scrolls sideways")
        self.problems += [f"{name}: {violation}" for violation in serious_violations(page)]

    def visit(self, path: str, name: str) -> None:
        response = self.page.goto(self.url + path)
        if response is None or response.status != 200:
            self.problems.append(f"{name}: {path} answered {response and response.status}")
        self.check(name)


@pytest.mark.parametrize(("width", "height", "language"), VARIANTS)
def test_staff_and_public_pages_walk(scene, chromium_path, tmp_path, width, height, language):
    from playwright.sync_api import sync_playwright

    code = scene.codes[VARIANTS.index((width, height, language))]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context_ = browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN" if language == "zh" else "en-US",
        )
        page = context_.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("dialog", lambda dialog: dialog.accept())
        walk = Walk(page, tmp_path, f"{language}-{width}")
        walk.url = scene.url
        page.goto(scene.url + f"/language/{'en' if language == 'en' else 'zh_Hans_CN'}?next=/")
        walk.check("landing")
        page.keyboard.press("Tab")  # the first stop is the skip link, drawn with a visible ring
        focused = page.evaluate(
            "(el => [el.className, getComputedStyle(el).outlineStyle])(document.activeElement)"
        )
        assert focused == ["skip-link", "solid"]
        assert "0951-5012345" in page.locator("main").inner_text()
        assert page.locator(".city-totals li strong").first.inner_text() != "0.000"
        for path, name in [("/methodologies", "catalogue"), ("/dashboard", "dashboard"),
                           (f"/certificates/{scene.certificate}", "certificate")]:  # fmt: skip
            walk.visit(path, name)
        assert page.locator("#verify-url").inner_text().endswith(scene.certificate)

        _sign_in(page, scene, "13600000001")  # the demo car park's manager at the counter
        walk.visit("/merchant/scan", "counter-scan")
        field = page.locator("input[name=token]")
        field.press_sequentially(code[:5])
        assert page.locator("#token-check").inner_text().startswith(("已输入 5 位", "5 of 8"))
        field.press_sequentially(code[5:])
        walk.check("counter-typed")
        page.locator("#scan-form button[type=submit]").click()
        walk.check("counter-preview")
        page.locator("#confirm-redemption").click()
        walk.check("counter-confirmed")
        for path, name in [("/merchant/redemptions", "redemptions"),
                           ("/merchant/settlement", "settlement"),
                           ("/merchant/voucher-key", "voucher-key")]:  # fmt: skip
            walk.visit(path, name)
        page.locator("main form button[type=submit]").first.click()  # show the key (audited)
        walk.check("voucher-key-shown")
        assert page.locator("#voucher-example-code").is_visible()
        assert not page.locator("details.technical pre").is_visible()  # the scheme stays folded

        _sign_in(page, scene, "13900000001")  # the demo bureau admin
        walk.visit("/bureau/", "bureau-home")
        assert page.locator("[data-queue=activities] .count").inner_text() == "1"
        for path, name in [
            ("/bureau/methodologies/pending", "queue-versions"),
            ("/bureau/review", "queue-review"),
            ("/bureau/merchants", "queue-merchants"),
            ("/bureau/offers", "queue-offers"),
            ("/bureau/filings/", "queue-filings"),
            ("/bureau/offset-claims", "queue-claims"),
            ("/bureau/organisations", "queue-organisations"),
            ("/bureau/approvals", "queue-approvals"),
            (f"/bureau/filings/{scene.draft_id}", "filing-detail"),
            ("/bureau/audit", "audit-log"),
            ("/bureau/jobs/", "jobs"),
            ("/bureau/settlement", "bureau-settlement"),
            ("/bureau/banks", "banks"),
            ("/bureau/sales", "sales"),
            ("/bureau/wallets?mobile=13800000001", "wallet-lookup"),
        ]:
            walk.visit(path, name)
        # An adjustment with nothing right: both refusals at once, each beside its field.
        page.locator("main input[name=points]").fill("0")
        page.locator("main textarea[name=reason]").fill(" ")
        logged = len(errors)
        page.locator("main form[action$='/adjustments'] button[type=submit]").click()
        walk.check("adjustment-refused")
        assert page.locator("main .field-error").count() == 2
        assert [" 422 " in text for text in errors[logged:]] == [True]  # the refusal's status
        del errors[logged:]
        page.goto(scene.url + "/bureau/banks")
        page.locator("main .bank-actions details summary").first.click()  # rotate: what it does
        walk.check("banks-rotate-open")
        assert page.locator("main .bank-actions details form button").first.is_visible()
        for path, why in (
            ("/bureau/approvals", "main td .muted"),
            ("/bureau/methodologies/pending", "main .pending-versions p.muted"),
        ):
            page.goto(scene.url + path)  # its own work: no button to decide it, and why not
            assert page.locator("main form[action$='/approve']").count() == 0, path
            assert page.locator(why).last.is_visible(), path

        _sign_in(page, scene, "13900000003")  # the demo third-party verifier
        walk.visit(f"/verifier/batches/{scene.draft_id}", "verifier-batch")
        context_.close()
        browser.close()
    assert walk.problems == [], "\n".join(walk.problems)
    assert errors == []
