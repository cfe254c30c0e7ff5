"""Roles and permissions of accounts: defined in :mod:`app.roles`, below every domain."""

from app.roles import (
    PRIVILEGED,
    ROLE_PERMISSIONS,
    STAFF_ROLES,
    WALLET_ROLES,
    Permission,
    Role,
    role_has,
)

__all__ = [
    "PRIVILEGED",
    "ROLE_PERMISSIONS",
    "STAFF_ROLES",
    "WALLET_ROLES",
    "Permission",
    "Role",
    "role_has",
]
