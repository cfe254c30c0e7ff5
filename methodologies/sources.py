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
TRANSIT_DAILY_CAP = (
    f"platform default: 4 rides × the per-ride cap, after {BOLOGNA} "
    "(at most 4 credited journeys a day)"
)
WALKING_PER_KM = (
    f"platform default, no published walking factor: half the cycling value of {WUHAN_PER_ACTION}"
)

#: Each source above in Chinese, for the Chinese pages (the strings above are what is stored).
CHINESE = {
    SHENZHEN_TRANSIT: "深圳市低碳公共出行碳普惠方法学（试行），2021 年 12 月，随“低碳星球”上线发布",
    WUHAN_PER_ACTION: "武汉“武碳江湖”公布的单次行为减排量，2023 年",
    GRID_NORTHWEST_2022: "生态环境部、国家统计局发布的区域电网排放因子（2022 年数据）",
    NATURAL_GAS: (
        "38,931 千焦/立方米 × 15.3 吨碳/太焦 × 0.99 碳氧化率 × 44/12（国家核算指南缺省值）"
    ),
    EPA_WARM: "美国环保署 WARM 模型（第 15/16 版），由每短吨换算",
    ANT_FOREST: "蚂蚁森林",
    HUBEI_TANTAN: "湖北“碳碳星球”",
    GB_17761: "GB 17761-2018",
    BOLOGNA: "博洛尼亚 Bella Mossa 项目",
    STATION_TABLE: "运营方提供的站间距离表",
    TRANSIT_DAILY_CAP: (
        "平台缺省值：每天 4 次乘车 × 单次上限，"
        "参照博洛尼亚 Bella Mossa 项目（每天最多计入 4 次出行）"
    ),
    WALKING_PER_KM: "平台缺省值，暂无公开的步行因子：取武汉“武碳江湖”公布的骑行值的一半",
    PLATFORM_DEFAULT: "平台缺省值，暂无公开数据：请生态环境局设定",
    GASOLINE: "国家温室气体核算指南数值",
    GB_17930: (
        "GB 17930-2016 车用汽油：20 °C 时密度 720–775 千克/立方米；缺省值为该范围内的平台取值"
    ),
}
