"""History as text: sparklines and the recurring issues by name."""

from __future__ import annotations

from server.render.history import rep_history_text, sparkline


def test_sparkline_scales_between_its_bounds() -> None:
    assert sparkline([0.0, 0.5, 1.0]) == " ▄█"
    assert sparkline([2.0, -1.0]) == "█ ", "clipped"
    assert sparkline([10.0, 20.0], 0.0, 20.0) == "▄█"


def test_rep_history_names_recurring_issues_in_the_language_asked() -> None:
    measures = {"talk_share_rep": 0.8, "longest_monologue_s": 90.0}
    call = {"session": "s1", "title": "Demo", "created_at": 0.0, "duration_audio_s": 159.0,
            "measures": measures}  # fmt: skip
    history = {
        "rep": {"id": "r", "name": "Anna", "group": "g"},
        "calls": [call],
        "trend": [call, {**call, "measures": None}],
        "recurring": [{"criterion": "talk_share", "missed": 3, "of_calls": 5, "sessions": ["s1"]}],
        "labels": {"talk_share": {"en": "Talk share", "nl": "Spreektijd"}},
    }
    text = rep_history_text(history, "nl")
    assert "Demo  2:39  80% talk  monologue 1:30" in text
    assert "✗ Spreektijd: 3 of 5 calls (s1)" in text
    assert "talk share        ▆  80% now" in text
