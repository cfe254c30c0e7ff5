"""Source strings cited by the built-in defaults, worded as in the project's factor table.

A default either cites a published figure or says plainly that it is a platform default the bureau
should set; the public methodology catalogue shows these strings next to each value.
"""

SHENZHEN_TRANSIT = (
    "Shenzhen low-carbon public transport carbon-inclusion methodology (trial), Dec 2021, "
    "as published with the 低碳星球 launch"
)
WUHAN_PER_ACTION = "Wuhan 武碳江湖 published per-action values, 2023"
GRID_NORTHWEST_2022 = "MEE / NBS published regional grid factors (2022 data)"
NATURAL_GAS = "38,931 kJ/m3 × 15.3 tC/TJ × 0.99 oxidation × 44/12 (national guideline defaults)"
EPA_WARM = "US EPA WARM (v15/16), converted from per short ton"
ANT_FOREST = "Ant Forest"
HUBEI_TANTAN = "Hubei 碳碳星球"
GB_17761 = "GB 17761-2018"
BOLOGNA = "Bologna Bella Mossa"
STATION_TABLE = "operator-provided station-distance table"
PLATFORM_DEFAULT = "platform default, no published figure: the bureau should set it"
GASOLINE = "Chinese national GHG accounting guideline values"
GB_17930 = (
    "GB 17930-2016 motor gasoline: density 720–775 kg/m3 at 20 °C; the default is a platform "
    "choice inside that range"
)
