"""What both plugin families, ``methodologies`` (earn side) and ``rewards`` (spend side), share.

Their bilingual text type and their entry-point loader. Pure Python: no Flask, no database, and
no knowledge of either family's contract, which each family checks itself.
"""

from plugins.loading import PluginLoadError, load_entry_points
from plugins.text import Text, is_bilingual

__all__ = ["PluginLoadError", "Text", "is_bilingual", "load_entry_points"]
