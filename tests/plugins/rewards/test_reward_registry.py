"""Discovery through entry points: built-in types, a third-party type, and broken plugins."""

from collections.abc import Callable, Mapping

import pytest

from rewards import FulfilmentContext, RewardTypeLoadError, load_reward_types, verify_code
from rewards.coupon import MerchantCoupon
from rewards.donation import Donation
from rewards.parking import ParkingDiscount
from rewards.transit import TransitDiscount

#: The ``install_plugin`` fixture: (distribution, entry points, module sources) -> None.
InstallPlugin = Callable[[str, Mapping[str, str], Mapping[str, str]], None]

BIKE_PLUGIN = """
    from typing import Any
    from marshmallow import Schema, fields
    from rewards import Fulfilment, FulfilmentContext, RewardType, Text


    class BikeSchema(Schema):
        minutes = fields.Integer(
            strict=True, required=True, metadata={"label": Text("骑行分钟数", "Riding minutes")}
        )


    class BikeVoucher(RewardType):
        code = "bike_voucher"
        name = Text("共享单车骑行券", "Bike-share ride voucher")
        description = Text("免费骑行共享单车。", "Free bike-share riding.")
        public_service = False
        config_schema = BikeSchema
        example_config = {"minutes": 30}

        @classmethod
        def describe(cls, config: dict[str, Any]) -> Text:
            minutes = config["minutes"]
            return Text(f"免费骑行 {minutes} 分钟", f"{minutes} minutes of riding")

        @classmethod
        def issue(cls, config: dict[str, Any], context: FulfilmentContext) -> Fulfilment:
            return Fulfilment(
                code=cls.voucher_code(context),
                instructions=Text("开锁时输入券码。", "Enter the code when unlocking."),
                valid_until=None,
                payload={"minutes": config["minutes"]},
            )
"""


def test_builtin_types_are_registered_under_their_codes() -> None:
    types = load_reward_types()
    assert {
        code: types[code] for code in ("parking_discount", "transit_discount", "coupon", "donation")
    } == {
        "parking_discount": ParkingDiscount,
        "transit_discount": TransitDiscount,
        "coupon": MerchantCoupon,
        "donation": Donation,
    }


def test_enabled_restricts_what_is_loaded() -> None:
    assert list(load_reward_types(["coupon", "donation", "coupon"])) == ["coupon", "donation"]


def test_an_enabled_type_that_is_not_installed_fails_loudly() -> None:
    with pytest.raises(
        RewardTypeLoadError, match=r"'tree_adoption'.*no installed package"
    ) as excinfo:
        load_reward_types(["coupon", "tree_adoption"])
    assert excinfo.value.entry_point == "tree_adoption"


def test_a_third_party_type_is_discovered_and_usable(
    install_plugin: InstallPlugin, context: FulfilmentContext
) -> None:
    install_plugin(
        "acme_rewards", {"bike_voucher": "acme_bike:BikeVoucher"}, {"acme_bike": BIKE_PLUGIN}
    )
    bike = load_reward_types()["bike_voucher"]
    assert bike.summary({"minutes": 45}).en == "45 minutes of riding"
    fulfilment = bike.fulfil({"minutes": 45}, context)
    assert verify_code(
        context.secret, fulfilment.code, type_code="bike_voucher", redemption_id=1, offer_id=10
    )


def test_a_broken_type_that_is_not_enabled_is_never_imported(install_plugin: InstallPlugin) -> None:
    install_plugin(
        "acme_rewards",
        {"bike_voucher": "acme_bike:BikeVoucher", "scooter": "acme_scooter:Scooter"},
        {"acme_bike": BIKE_PLUGIN, "acme_scooter": "raise RuntimeError('scooter plugin exploded')"},
    )
    assert list(load_reward_types(["bike_voucher"])) == ["bike_voucher"]
    with pytest.raises(RewardTypeLoadError, match="scooter plugin exploded"):
        load_reward_types()


def test_two_packages_claiming_one_code_fail_loudly(install_plugin: InstallPlugin) -> None:
    install_plugin("acme_rewards", {"coupon": "acme_bike:BikeVoucher"}, {"acme_bike": BIKE_PLUGIN})
    with pytest.raises(RewardTypeLoadError, match=r"'coupon'.*registered more than once"):
        load_reward_types(["coupon"])


BROKEN = {
    "missing module": ("no_such_module:BikeVoucher", "", "No module named 'no_such_module'"),
    "missing class": ("acme_broken:Nothing", "", "has no attribute 'Nothing'"),
    "import error": (
        "acme_broken:Broken",
        "import not_installed_dependency",
        "not_installed_dependency",
    ),
    "not a reward type": (
        "acme_broken:Broken",
        "class Broken: pass",
        "not a subclass of rewards.base.RewardType",
    ),
    "abstract": (
        "acme_broken:Broken",
        "class Broken(RewardType): pass",
        "Broken does not implement describe, issue",
    ),
    "code differs from entry point": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): code = 'scooter'",
        "declares code 'scooter'",
    ),
    "code not a string": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): code = 7",
        "code must be",
    ),
    "name not bilingual": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): name = 'Bike voucher'",
        "name must be a Text with both zh and en",
    ),
    "description blank in one language": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): description = Text('免费骑行。', ' ')",
        "description must be a Text",
    ),
    "public_service not a bool": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): public_service = 'no'",
        "public_service must be True or False",
    ),
    "config_schema not a schema": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): config_schema = {'minutes': int}",
        "config_schema must be a marshmallow Schema class",
    ),
    "config field without label": (
        "acme_broken:Broken",
        "class Bare(Schema):\n"
        "    minutes = fields.Integer()\n"
        "class Broken(BikeVoucher): config_schema = Bare",
        "the label of config field 'minutes'",
    ),
    "example config invalid": (
        "acme_broken:Broken",
        "class Broken(BikeVoucher): example_config = {'minutes': 'thirty'}",
        "example_config does not validate",
    ),
}


@pytest.mark.parametrize(("target", "source", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_type_fails_loudly_naming_entry_point_and_problem(
    install_plugin: InstallPlugin, target: str, source: str, problem: str
) -> None:
    module = "from marshmallow import Schema, fields\nfrom rewards import RewardType, Text\n"
    module += "from acme_bike import BikeVoucher\n\n" + source + "\n"
    install_plugin(
        "acme_broken", {"bike_voucher": target}, {"acme_bike": BIKE_PLUGIN, "acme_broken": module}
    )
    with pytest.raises(RewardTypeLoadError) as excinfo:
        load_reward_types(["bike_voucher"])
    assert excinfo.value.entry_point == "bike_voucher"
    assert str(excinfo.value).startswith("reward type 'bike_voucher' (tanpuhui.rewards): ")
    assert problem in str(excinfo.value)
