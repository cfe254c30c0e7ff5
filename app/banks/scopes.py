"""The scopes a bank may ask for, in one place: what each lets it read, as the consent page says.

The guarded API routes name their scope from here, and the OpenAPI document's OAuth 2.0 scheme
lists the same descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.roles import Role


@dataclass(frozen=True, slots=True)
class Scope:
    code: str
    sees: object  # what the bank will see (a lazily translated string)
    holders: tuple[Role, ...]  # whose record it reads


CARBON_SUMMARY = "carbon.summary"
CARBON_STATEMENT = "carbon.statement"
ORG_PERFORMANCE = "org.performance"

SCOPES: dict[str, Scope] = {
    CARBON_SUMMARY: Scope(
        CARBON_SUMMARY,
        _l("Your points balance and the kilograms of CO2e you avoided each month"),
        (Role.RESIDENT, Role.ORGANISATION),
    ),
    CARBON_STATEMENT: Scope(
        CARBON_STATEMENT,
        _l(
            "Your verified reductions by month and kind of action, with a signed statement "
            "(no trip details)"
        ),
        (Role.RESIDENT, Role.ORGANISATION),
    ),
    ORG_PERFORMANCE: Scope(
        ORG_PERFORMANCE,
        _l("Your organisation's verified reductions and their trend, for credit decisions"),
        (Role.ORGANISATION,),
    ),
}

#: For the OpenAPI document (English, as the document is).
SCOPE_DESCRIPTIONS = {
    CARBON_SUMMARY: "Points balance and kilograms CO2e avoided per month",
    CARBON_STATEMENT: "Verified reductions by month and kind, and the signed statement (JWS)",
    ORG_PERFORMANCE: "An organisation's verified reductions and trend, for credit decisions",
}


def known(codes: list[str]) -> list[str]:
    """The codes that name a scope, in the catalogue's order."""
    return [code for code in SCOPES if code in codes]


def for_role(codes: list[str], role: Role) -> list[str]:
    """The scopes among ``codes`` that a holder of ``role`` can grant."""
    return [code for code in known(codes) if role in SCOPES[code].holders]
