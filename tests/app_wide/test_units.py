"""Points and CO2e written one way: whole numbers with commas, kg to 0.1, t to 0.001, half up."""

from __future__ import annotations

from app import units


def test_whole_numbers_take_a_comma_every_three_digits():
    assert [units.whole(n) for n in (0, 999, 1000, 1234567)] == ["0", "999", "1,000", "1,234,567"]
    assert [units.signed(n) for n in (50, -2000)] == ["+50", "-2,000"]
    assert units.grams(12345) == "12,345 g"


def test_kilograms_round_half_up_to_one_decimal():
    assert [units.kilograms(g) for g in (0, 49, 50, 149, 150)] == [
        "0.0 kg", "0.0 kg", "0.1 kg", "0.1 kg", "0.2 kg",
    ]  # fmt: skip
    assert units.kilograms(1_234_550) == "1,234.6 kg"


def test_a_limit_in_kilograms_is_rounded_down_so_typing_it_back_stays_within_it():
    assert [units.kilograms(g, at_most=True) for g in (0, 99, 100, 1_450, 1_499, 1_500)] == [
        "0.0 kg", "0.0 kg", "0.1 kg", "1.4 kg", "1.4 kg", "1.5 kg",
    ]  # fmt: skip
    assert units.kilograms(1_450) == "1.5 kg"  # what a person avoided still rounds half up


def test_tonnes_round_half_up_to_three_decimals():
    assert [units.tonnes(g) for g in (499, 500, 1_234_567_499)] == [
        "0.000 t", "0.001 t", "1,234.567 t",
    ]  # fmt: skip


def test_a_total_beside_its_unit_is_the_same_figure_without_it():
    assert [units.tonnes_figure(g) for g in (499, 500, 1_234_567_499)] == [
        "0.000", "0.001", "1,234.567",
    ]  # fmt: skip
