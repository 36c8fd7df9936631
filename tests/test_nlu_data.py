"""The Rasa training data and what is generated for it from the knowledge base.

- `rasa data validate ... --fail-on-warnings` passes, without the "duplicated
  responses" warning;
- enough examples per intent, and a held-out set that shares no message with
  the training data;
- the lookup tables, synonyms and jieba dictionary come from the knowledge
  base: a new report brings its places and names, a staff synonym its word.
"""
from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data
from sqlalchemy import select

from bot.training import rasa_env, write_nlu_resources
from kb import knowledge
from kb.db import session_scope
from kb.models import Synonym
from tests.conftest import BIN, ROOT, build_kb

ASK_INTENTS = ("ask_event", "ask_competition", "ask_platform", "ask_statistics")
CONTRACT_INTENTS = ("greet", "goodbye", "thank", "bot_challenge", "human_handoff", "out_of_scope", "subscribe",
                    "unsubscribe", *ASK_INTENTS)


def test_rasa_data_validate_passes_without_warnings() -> None:
    proc = subprocess.run(
        [str(BIN / "rasa"), "data", "validate", "--data", "nlu_data", "--domain", "nlu_data/domain.yml",
         "--config", "config.yml", "--fail-on-warnings"],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "UserWarning" not in output, output[-3000:]
    assert "duplicated" not in output


def test_enough_examples_per_intent() -> None:
    counts = Counter(ex.get("intent") for ex in load_data(str(ROOT / "nlu_data" / "nlu")).intent_examples)
    assert set(CONTRACT_INTENTS) <= set(counts)
    for intent, n in counts.items():
        assert n >= (60 if intent in ASK_INTENTS else 25), (intent, n)


def test_heldout_set_is_separate_from_the_training_data() -> None:
    train = {ex.get("text").strip() for ex in load_data(str(ROOT / "nlu_data" / "nlu")).intent_examples}
    heldout = load_data(str(ROOT / "tests" / "data" / "nlu_heldout.yml")).intent_examples
    assert len(heldout) >= 150
    assert {ex.get("intent") for ex in heldout} >= set(CONTRACT_INTENTS)
    assert not [ex.get("text") for ex in heldout if ex.get("text").strip() in train]


def _generated(tmp_path: Path) -> tuple[dict[str, list[str]], dict[str, str], set[str]]:
    data = yaml.safe_load((tmp_path / "nlu" / "lookups.yml").read_text(encoding="utf-8"))
    lookups = {item["lookup"]: [line[2:] for line in item["examples"].splitlines()]
               for item in data["nlu"] if "lookup" in item}
    synonyms = {line[2:]: item["synonym"] for item in data["nlu"] if "synonym" in item
                for line in item["examples"].splitlines()}
    words = {line.split(" ")[0] for line in (tmp_path / "jieba" / "userdict.txt").read_text().splitlines()}
    return lookups, synonyms, words


def test_lookups_and_synonyms_come_from_the_knowledge_base(sqlite_url: str, tmp_path: Path) -> None:
    with session_scope(sqlite_url) as session:
        write_nlu_resources(session, tmp_path / "nlu", tmp_path / "jieba")
    lookups, synonyms, words = _generated(tmp_path)
    assert {"成都", "绵阳", "通江县", "锦江区", "四川省"} <= set(lookups["region"])
    assert {"大禹杯", "全国科普日", "科创会", "天府科技云服务大会", "机器人竞赛"} <= set(lookups["event"])
    assert {"天府科技云", "科普中国", "科普e站"} <= set(lookups["platform"])
    assert "天府科技云服务大会" not in lookups["platform"]  # an event, not a platform
    # longest first: Rasa's regex alternation takes the first entry that matches
    assert lookups["region"].index("通江县") < lookups["region"].index("通江")
    assert synonyms["蓉城"] == "成都" and synonyms["绵阳市"] == "绵阳" and synonyms["锦江区"] == "锦江"
    assert synonyms["科创会"] == "天府科技云服务大会" and synonyms["天府云"] == "天府科技云"
    assert {"天府科技云", "大禹杯", "通江县"} <= words


def test_a_new_report_and_a_staff_synonym_reach_the_nlu(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    build_kb(url)
    with session_scope(url) as session:
        knowledge.import_text(
            session, title="青白江区科协简报", region="四川省成都市", published_at="2024-05",
            text="5月18日,成都市青白江区科协在凤凰湖举办“凤凰湖科技节”,吸引市民3000余人次参加。")
        session.add(Synonym(word="凤凰湖节", canonical="凤凰湖科技节", kind="event"))
    with session_scope(url) as session:
        write_nlu_resources(session, tmp_path / "nlu", tmp_path / "jieba")
    lookups, synonyms, words = _generated(tmp_path)
    assert {"青白江区", "青白江"} <= set(lookups["region"]) and synonyms["青白江区"] == "青白江"
    assert {"凤凰湖科技节", "凤凰湖节"} <= set(lookups["event"]) and synonyms["凤凰湖节"] == "凤凰湖科技节"
    assert {"青白江区", "凤凰湖科技节"} <= words


def test_training_annotations_agree_with_the_generated_synonyms(sqlite_url: str, tmp_path: Path) -> None:
    """An example annotated [科创会]{"value": "天府科技云服务大会"} and a generated synonym
    mapping 科创会 elsewhere would make Rasa overwrite one with the other."""
    with session_scope(sqlite_url) as session:
        write_nlu_resources(session, tmp_path / "nlu", tmp_path / "jieba")
        staff = {w for (w,) in session.execute(select(Synonym.word))}
    _, generated, _ = _generated(tmp_path)
    annotated = load_data(str(ROOT / "nlu_data" / "nlu")).entity_synonyms
    clashes = {w: (v, generated[w]) for w, v in annotated.items() if w in generated and generated[w] != v}
    assert not clashes
    assert staff  # the seed synonyms were loaded, so the comparison above meant something


@pytest.mark.parametrize("intent", ASK_INTENTS)
def test_ask_examples_are_not_one_template(intent: str) -> None:
    """At least 60 examples, and not sentences with a name swapped in: with the names
    masked, hardly any two examples are the same."""
    examples = [ex for ex in load_data(str(ROOT / "nlu_data" / "nlu")).intent_examples if ex.get("intent") == intent]

    def template(ex) -> str:  # noqa: ANN001
        text = ex.get("text")
        for e in sorted(ex.get("entities") or [], key=lambda e: -e["start"]):
            text = text[:e["start"]] + "<" + e["entity"] + ">" + text[e["end"]:]
        return text

    templates = Counter(template(ex) for ex in examples)
    assert len(examples) >= 60
    assert len(templates) >= 0.95 * len(examples), templates.most_common(5)
