"""The tanpuhui command: the first admin, demo data, migrations."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.roles import Role
from app.demo import DEMO_PASSWORD


def test_create_admin_then_refuses_a_duplicate(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-admin",
            "--mobile",
            "13912345678",
            "--name",
            "局管理员",
            "--password",
            "admin-2026-ok",
        ]
    )
    assert result.exit_code == 0, result.output
    assert (
        session.scalar(sa.select(User.role).where(User.mobile == "13912345678"))
        == Role.BUREAU_ADMIN
    )
    again = runner.invoke(
        args=[
            "create-admin",
            "--mobile",
            "13912345678",
            "--name",
            "x",
            "--password",
            "admin-2026-ok",
        ]
    )
    assert again.exit_code != 0
    assert "已存在" in again.output or "already exists" in again.output


def test_create_admin_refuses_a_weak_password(app, session):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--mobile", "13912345679", "--name", "x", "--password", "weak"]
    )
    assert result.exit_code != 0
    assert session.scalar(sa.select(User).where(User.mobile == "13912345679")) is None


def test_seed_demo_prints_credentials_once(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output
    roles = set(session.scalars(sa.select(User.role)))
    assert roles == set(Role)
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert second.exit_code == 0
    assert DEMO_PASSWORD not in second.output


def test_demo_resident_can_sign_in(app, client, session):
    app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    response = client.post(
        "/api/v1/auth/tokens", json={"mobile": "13800000001", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201
