"""Reports for people: the printable HTML page, its SVG pictures, and the terminal text.

Pure functions of a report, a scorecard and the parties' names; no I/O. The HTTP route,
the trainer dashboard and `sparring report` call them.
"""

from server.render.call import names_of
from server.render.page import DEFAULT_TALK_TARGET, report_page, talk_target_of
from server.render.pictures import talk_share_svg, timeline_svg
from server.render.text import report_text

__all__ = [
    "DEFAULT_TALK_TARGET",
    "names_of",
    "report_page",
    "report_text",
    "talk_share_svg",
    "talk_target_of",
    "timeline_svg",
]
