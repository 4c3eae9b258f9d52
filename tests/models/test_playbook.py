"""Playbook validation: every error names where and what."""

from __future__ import annotations

from importlib import resources

import pytest

from models.errors import BadPlaybook
from models.playbook import default_playbook, load_playbook, parse_playbook


def test_playbook_default_ships_with_both_languages() -> None:
    p = default_playbook()
    for name in ("talk_ratio", "monologue", "interruption", "patience", "dead_air"):
        rule = getattr(p.rules, name)
        assert rule.text.en and rule.text.nl
    assert p.pacing.warmup_s == 45 and p.rules.talk_ratio.threshold == 0.65


def test_playbook_partial_override_keeps_other_defaults() -> None:
    p = parse_playbook("[rules.talk_ratio]\nthreshold = 0.7\n")
    assert p.rules.talk_ratio.threshold == 0.7
    assert p.rules.talk_ratio.priority == 6 and p.rules.talk_ratio.severity.value == "warn"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[rules.talk_ratio]\nthreshold = 1.5\n", "threshold must be a share"),
        ("[rules.monologue]\nthreshhold_s = 3\n", "unknown field `threshhold_s`"),
        ("[rules.monologue]\nthreshold_s = 'a'\n", "line 2, rules.monologue.threshold_s"),
        ("x = [", "my.toml"),
        ('[rules.dead_air]\ntext = {en="{oops}", nl="x"}\n', "unknown placeholder {oops}"),
        ("[rules.speed]\nenabled = true\n", "unknown field `speed`"),
    ],
)
def test_playbook_errors_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(
        BadPlaybook, match=fragment.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")
    ):
        parse_playbook(text, "my.toml")


def test_playbook_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(BadPlaybook, match="cannot read playbook"):
        load_playbook(tmp_path / "nope.toml")


def test_playbook_readme_example_is_valid() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    start = readme.index('```toml\nname = "Discovery calls, group B"') + len("```toml\n")
    p = parse_playbook(readme[start : readme.index("```", start)], "README.md")
    assert p.rules.talk_ratio.threshold == 0.55 and not p.rules.patience.enabled
    assert [item.id for item in p.checklist] == ["competitor", "budget"]


def test_playbook_checklist_errors_name_the_item() -> None:
    text = '[[checklist]]\nid = "Budget!"\nlabel = { en = "B", nl = "B" }\nphrases = { en = ["b"] }\n'
    with pytest.raises(BadPlaybook, match="checklist id must be lowercase"):
        parse_playbook(text, "my.toml")


def test_playbook_errors_point_at_the_line_inside_a_checklist_item() -> None:
    text = (
        'name = "x"\n\n[[checklist]]\nid = "budget"\nlabel = { en = "B", nl = "B" }\n'
        'phrases = { en = ["b"] }\n\n[[checklist]]\nid = "timing"\nlabel = { en = "T" }\n'
    )
    with pytest.raises(BadPlaybook, match=r"line 10, checklist\[1\]\.label.*`nl`"):
        parse_playbook(text, "my.toml")


def test_playbook_placeholder_error_points_at_its_line() -> None:
    text = '[pacing]\nwarmup_s = 10\n\n[rules.dead_air]\ntext = {en="{oops}", nl="x"}\n'
    with pytest.raises(BadPlaybook, match=r"line 5"):
        parse_playbook(text, "my.toml")


def test_playbook_default_form_is_complete_in_english_and_dutch() -> None:
    form = default_playbook().form
    assert [s.id for s in form][:6] == ["structure", "balance", "questions", "lsd", "voice", "topics"]
    for section in form:
        for text in (section.title, *(c.label for c in section.criteria)):
            assert text.en.strip() and text.nl.strip() and text.en != "" and text.nl != ""
    kinds = {("judged" if c.judged else "measured") for s in form for c in s.criteria}
    assert kinds == {"judged", "measured"}


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('metric = "follow_ups"', 'metric = "follow_upz"', "form[3].criteria[2].metric"),
        ('rule = "monotone"', 'rule = "monotonous"', "unknown rule 'monotonous'"),
        ('checklist = "timing"', 'checklist = "timings"', "unknown checklist item 'timings'"),
        ("max = 0.04", "min = 0.01\nmax = 0.04\nrule = \"pace\"", "one of metric, rule"),
    ],
)
def test_playbook_form_errors_name_the_line_and_key(old, new, problem) -> None:
    text = resources.files("server").joinpath("playbooks/default.toml").read_text("utf-8")
    assert old in text
    broken = text.replace(old, new, 1)
    with pytest.raises(BadPlaybook) as info:
        parse_playbook(broken, "mine.toml")
    message = str(info.value)
    assert problem in message and message.startswith("mine.toml (line ")
    line = int(message.split("line ")[1].split(",")[0])
    changed_line = broken[: broken.index(new)].count("\n") + 1
    assert 0 <= changed_line - line <= 4, "the line of the key, or of its [[form.criteria]]"
