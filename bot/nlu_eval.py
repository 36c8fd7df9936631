"""Measuring the NLU model: 5-fold cross-validation on nlu_data, and the held-out set.

`make eval` runs both (`python -m bot.nlu_eval all`); the figures go into the
README. Results land in results/nlu/ (git-ignored):

- cross_validation/: what `rasa test nlu --cross-validation` writes (intent
  report, confusion matrix, confidence histogram, errors), produced by the same
  Rasa functions (`rasa.nlu.test.evaluate_intents`), plus `predictions.json`
  with every message's full intent ranking and `thresholds.json`: the
  FallbackClassifier thresholds derived from them (see `choose_thresholds`).
  The folds are run here rather than through the `rasa` command because the
  command keeps only the top intent of each prediction, and the ambiguity
  threshold is about the gap between the first and the second.
- heldout/: the trained model (the one `bot train` made) on
  tests/data/nlu_heldout.yml, which is written apart from the training data
  and never copied into it.

Rasa's evaluation undoes the FallbackClassifier before scoring (a fallback
is not a wrong intent: it is "not sure"); the reports here do the same, and
add how often the deployed pipeline falls back and whether it fell back on
right or wrong guesses.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from kb.db import PROJECT_ROOT

HELDOUT = PROJECT_ROOT / "tests" / "data" / "nlu_heldout.yml"
RESULTS = PROJECT_ROOT / "results" / "nlu"
NLU_DIRS = (PROJECT_ROOT / "nlu_data", PROJECT_ROOT / "var" / "nlu")
FALLBACK = "nlu_fallback"
# How far above the best pair's count of wrongly handled messages the chosen
# thresholds may go, as a share of the messages (see choose_thresholds).
SLACK = 0.01

log = logging.getLogger("bot.nlu_eval")


@dataclass
class Prediction:
    """One message's parse: the target, the raw top intents, and what was extracted."""

    text: str
    target: str
    intent: str  # the classifier's top intent, fallback undone
    confidence: float
    second: str
    second_confidence: float
    fell_back: bool  # the deployed pipeline answered nlu_fallback
    entities: list[tuple[str, str]]
    expected_entities: list[tuple[str, str]]

    @property
    def correct(self) -> bool:
        return self.intent == self.target

    @property
    def gap(self) -> float:
        return self.confidence - self.second_confidence


def _ranking(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in result.get("intent_ranking") or [] if r.get("name") != FALLBACK]


def prediction_of(result: dict[str, Any], target: str, expected: Iterable[tuple[str, str]]) -> Prediction:
    """A parse result (Rasa's dict, from Agent.parse_message or /model/parse) as a Prediction."""
    ranking = _ranking(result)
    top = ranking[0] if ranking else {"name": "", "confidence": 0.0}
    second = ranking[1] if len(ranking) > 1 else {"name": "", "confidence": 0.0}
    return Prediction(
        text=result.get("text", ""), target=target, intent=top["name"], confidence=float(top["confidence"]),
        second=second["name"], second_confidence=float(second["confidence"]),
        fell_back=(result.get("intent") or {}).get("name") == FALLBACK,
        entities=sorted({(e["entity"], str(e["value"])) for e in result.get("entities") or []}),
        expected_entities=sorted(set(expected)),
    )


def load_examples(path: Path | Iterable[Path]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(text, intent, [(entity, value)]) of NLU YAML files, parsed by Rasa's own reader."""
    from rasa.shared.nlu.training_data.loading import load_data

    paths = [path] if isinstance(path, Path) else list(path)
    out = []
    for p in paths:
        data = load_data(str(p))
        for ex in data.intent_examples:
            ents = [(e["entity"], str(e["value"])) for e in ex.get("entities") or []]
            out.append((ex.get("text"), ex.get("intent"), ents))
    return out


def parse_all(model_path: Path, examples: list[tuple[str, str, list[tuple[str, str]]]]) -> list[Prediction]:
    """Every example through the trained model, in this process (one model load)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def run() -> list[Prediction]:
        return [prediction_of(await agent.parse_message(text), intent, ents) for text, intent, ents in examples]

    return asyncio.run(run())


# --- reports -------------------------------------------------------------------------------------


def summary(preds: list[Prediction]) -> dict[str, Any]:
    """Accuracy, macro F1, fallbacks and the confusions, in one JSON-able dict.

    `accuracy` is the classifier's (fallback undone, as `rasa test nlu` counts);
    `handled_right` is the deployed pipeline's: the share of messages that reach
    the action their true intent reaches (a question that falls back still gets
    the knowledge-base search; see choose_thresholds).
    """
    from sklearn.metrics import f1_score

    n = len(preds)
    correct = sum(p.correct for p in preds)
    targets = [p.target for p in preds]
    intents = [p.intent for p in preds]
    confusions = Counter((p.target, p.intent) for p in preds if not p.correct)
    out: dict[str, Any] = {
        "messages": n,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "macro_f1": round(float(f1_score(targets, intents, average="macro", zero_division=0)), 4),
        "weighted_f1": round(float(f1_score(targets, intents, average="weighted", zero_division=0)), 4),
        "confusions": [{"target": t, "predicted": i, "count": c} for (t, i), c in confusions.most_common()],
        "errors": [{"text": p.text, "target": p.target, "predicted": p.intent,
                    "confidence": round(p.confidence, 3)} for p in preds if not p.correct],
    }
    right = sum(route(FALLBACK if p.fell_back else p.intent) == route(p.target) for p in preds)
    out["handled_right"] = round(right / n, 4) if n else 0.0
    fell = [p for p in preds if p.fell_back]
    out["fallback"] = {
        "messages": len(fell),
        "on_correct": sum(p.correct for p in fell),
        "on_wrong": sum(not p.correct for p in fell),
        "wrong_answered_confidently": sum(not p.correct and not p.fell_back for p in preds),
    }
    expected = sum(len(p.expected_entities) for p in preds)
    found = sum(len(p.entities) for p in preds)
    hit = sum(len(set(p.entities) & set(p.expected_entities)) for p in preds)
    out["entities"] = {
        "expected": expected, "extracted": found, "matched": hit,
        "precision": round(hit / found, 4) if found else 0.0,
        "recall": round(hit / expected, 4) if expected else 0.0,
        "misses": [{"text": p.text, "expected": p.expected_entities, "extracted": p.entities}
                   for p in preds if set(p.entities) != set(p.expected_entities)],
    }
    return out


def write_rasa_reports(preds: list[Prediction], out_dir: Path) -> dict[str, Any]:
    """intent_report.json, intent_confusion_matrix.png, intent_histogram.png, intent_errors.json:
    the files `rasa test nlu` writes, from Rasa's own function."""
    from rasa.nlu.test import IntentEvaluationResult, evaluate_intents

    out_dir.mkdir(parents=True, exist_ok=True)
    results = [IntentEvaluationResult(p.target, p.intent, p.text, p.confidence) for p in preds]
    return evaluate_intents(results, str(out_dir), successes=False, errors=True, disable_plotting=False,
                            report_as_dict=True)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def current_thresholds(config: Path = PROJECT_ROOT / "config.yml") -> tuple[float, float]:
    pipeline = yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"]
    fb = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    return float(fb["threshold"]), float(fb["ambiguity_threshold"])


def evaluate_heldout(model_path: Path, out_dir: Path = RESULTS / "heldout", heldout: Path = HELDOUT) -> dict[str, Any]:
    preds = parse_all(model_path, load_examples(heldout))
    write_rasa_reports(preds, out_dir)
    result = {"model": model_path.name, **summary(preds)}
    write_json(out_dir / "summary.json", result)
    return result


# --- cross-validation and thresholds --------------------------------------------------------------


def _training_data():  # noqa: ANN202 - rasa's TrainingData
    """nlu_data/ and the generated lookups in var/nlu, as `bot train` gives them to Rasa."""
    from rasa.shared.data import get_data_files, is_nlu_file
    from rasa.shared.nlu.training_data.loading import load_data

    files = sorted(get_data_files([str(p) for p in NLU_DIRS], is_nlu_file))
    first, *rest = [load_data(f, language="zh") for f in files]
    return first.merge(*rest)


def folds(data, n: int, seed: int = 42):  # noqa: ANN001, ANN201
    """Stratified folds as rasa.nlu.test.generate_folds makes them, with a fixed seed (reproducible)."""
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    x = data.intent_examples
    y = [ex.get_full_intent() for ex in x]
    for train_idx, test_idx in StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(x, y):
        def part(idx):  # noqa: ANN001, ANN202
            return TrainingData(training_examples=[x[i] for i in idx], entity_synonyms=data.entity_synonyms,
                                regex_features=data.regex_features, lookup_tables=data.lookup_tables)
        yield part(train_idx), part(test_idx)


def cross_validate(n_folds: int = 5, out_dir: Path = RESULTS / "cross_validation",
                   config: Path = PROJECT_ROOT / "config.yml") -> list[Prediction]:
    """Train on n-1 folds, predict the n-th, n times: every training example predicted once."""
    import rasa.model_training
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    data = _training_data()
    preds: list[Prediction] = []
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
        for i, (train, test) in enumerate(folds(data, n_folds), 1):
            print(f"fold {i}/{n_folds}: training on {len(train.intent_examples)}, "
                  f"testing on {len(test.intent_examples)} ...", flush=True)
            train_file = Path(tmp) / "train.yml"
            RasaYAMLWriter().dump(train_file, train)
            model = rasa.model_training.train_nlu(str(config), str(train_file), tmp,
                                                  fixed_model_name=f"fold{i}")
            agent = Agent.load(model)

            async def run() -> list[Prediction]:
                out = []
                for ex in test.intent_examples:
                    ents = [(e["entity"], str(e["value"])) for e in ex.get("entities") or []]
                    out.append(prediction_of(await agent.parse_message(ex.get("text")), ex.get("intent"), ents))
                return out

            preds += asyncio.run(run())
            Path(model).unlink(missing_ok=True)  # 5 models of ~20 MB: keep the temp folder small
    write_rasa_reports(preds, out_dir)
    write_json(out_dir / "predictions.json", [asdict(p) | {"correct": p.correct} for p in preds])
    return preds


# What the dialogue does with an intent (nlu_data/rules.yml): the four questions and the
# fallback all go to the knowledge-base search; every other intent has its own action.
KB_ROUTE = "knowledge-base search"
ROUTES = {"ask_event": KB_ROUTE, "ask_competition": KB_ROUTE, "ask_platform": KB_ROUTE,
          "ask_statistics": KB_ROUTE, FALLBACK: KB_ROUTE}


def route(intent: str) -> str:
    return ROUTES.get(intent, intent)


def falls_back(p: Prediction, threshold: float, ambiguity: float) -> bool:
    """What FallbackClassifier does: below the threshold, or the top two closer than the ambiguity."""
    return p.confidence < threshold or p.gap < ambiguity


def fallback_outcome(preds: list[Prediction], threshold: float, ambiguity: float) -> dict[str, int]:
    """For one threshold pair: messages handled the wrong way, and what the fallback did."""
    out = {"wrong_route": 0, "correct_lost": 0, "wrong_caught": 0}
    for p in preds:
        falls = falls_back(p, threshold, ambiguity)
        deployed = FALLBACK if falls else p.intent
        out["wrong_route"] += route(deployed) != route(p.target)
        out["correct_lost"] += falls and p.correct
        out["wrong_caught"] += falls and not p.correct
    return out


def choose_thresholds(preds: list[Prediction], slack: float = SLACK) -> dict[str, Any]:
    """The FallbackClassifier pair, from the cross-validation predictions.

    The measure is what the citizen gets: a message is handled the wrong way
    when the action it reaches is not the action its true intent reaches. A
    fallback on a question costs nothing (ask_* and nlu_fallback both search
    the knowledge base); a fallback on a greeting, an unsubscribe or a request
    for a human costs one (they get a search instead); a confident wrong intent
    costs one unless both intents are questions.

    Cross-validation only holds messages like the training data; the fallback
    is there for the ones unlike anything in it (garbled text, two intents in
    one message), which it cannot show. So the pair is the highest one whose
    count of wrongly handled messages stays within `slack` (a share of all
    messages) of the best pair's: as much protection as the data allow without
    measurably handling more messages the wrong way.
    """
    grid = []
    for t in [i / 100 for i in range(0, 91, 5)]:
        for a in [i / 100 for i in range(0, 31, 2)]:
            grid.append({"threshold": t, "ambiguity_threshold": a, **fallback_outcome(preds, t, a)})
    fewest = min(g["wrong_route"] for g in grid)
    allowed = fewest + math.ceil(slack * len(preds))
    best = max((g for g in grid if g["wrong_route"] <= allowed),
               key=lambda g: (g["threshold"], g["ambiguity_threshold"], -g["wrong_route"]))

    def quantiles(values: list[float]) -> dict[str, float]:
        import numpy as np

        if not values:
            return {}
        q = np.quantile(values, [0.0, 0.05, 0.1, 0.25, 0.5])
        return {k: round(float(v), 3) for k, v in zip(("min", "p5", "p10", "p25", "median"), q)}

    return {
        "rule": f"highest pair handling at most {slack:.0%} of the messages more the wrong way than the best pair",
        "fewest_wrong_route": fewest, "allowed_wrong_route": allowed,
        "threshold": best["threshold"], "ambiguity_threshold": best["ambiguity_threshold"],
        "predictions": len(preds), "correct": sum(p.correct for p in preds),
        "wrong": sum(not p.correct for p in preds),
        "wrong_route": best["wrong_route"], "wrong_route_without_fallback": fallback_outcome(preds, 0, 0)["wrong_route"],
        "correct_lost": best["correct_lost"], "wrong_caught": best["wrong_caught"],
        "confidence_correct": quantiles([p.confidence for p in preds if p.correct]),
        "confidence_wrong": quantiles([p.confidence for p in preds if not p.correct]),
        "gap_correct": quantiles([p.gap for p in preds if p.correct]),
        "gap_wrong": quantiles([p.gap for p in preds if not p.correct]),
        "grid": grid,
    }


def run_cross_validation(n_folds: int, out_dir: Path) -> dict[str, Any]:
    preds = cross_validate(n_folds, out_dir)
    chosen = choose_thresholds(preds)
    write_json(out_dir / "thresholds.json", chosen)
    t, a = current_thresholds()
    result = {"folds": n_folds, **summary(preds),
              "thresholds": {k: v for k, v in chosen.items() if k != "grid"},
              "config_thresholds": {"threshold": t, "ambiguity_threshold": a, **fallback_outcome(preds, t, a)}}
    write_json(out_dir / "summary.json", result)
    return result


# --- command line -------------------------------------------------------------------------------


def quiet_rasa() -> None:
    """Rasa logs every parse at debug level through structlog; keep the report readable."""
    import os
    import warnings

    from bot.training import training_env

    for key, value in training_env().items():  # the cross-validation trains: same determinism
        os.environ.setdefault(key, value)
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")  # after Rasa's set-up, which installs its own filters


def _print(title: str, result: dict[str, Any]) -> None:
    print(f"\n== {title} ==")
    print(f"messages {result['messages']}  accuracy {result['accuracy']:.2%}  "
          f"macro F1 {result['macro_f1']:.4f}  weighted F1 {result['weighted_f1']:.4f}  "
          f"handled by the right action (with the fallback): {result['handled_right']:.2%}")
    fb = result["fallback"]
    print(f"nlu_fallback: {fb['messages']} messages ({fb['on_correct']} right guesses, {fb['on_wrong']} wrong); "
          f"wrong and not caught: {fb['wrong_answered_confidently']}")
    ents = result["entities"]
    print(f"entities: precision {ents['precision']:.2%}  recall {ents['recall']:.2%} "
          f"({ents['matched']}/{ents['expected']})")
    for c in result["confusions"]:
        print(f"  {c['target']:>16} -> {c['predicted']:<16} {c['count']}")
    if "thresholds" in result:
        th = result["thresholds"]
        print(f"chosen thresholds: threshold {th['threshold']}  ambiguity {th['ambiguity_threshold']}: "
              f"{th['wrong_route']} messages handled by the wrong action ({th['wrong_route_without_fallback']} "
              f"without a fallback); {th['correct_lost']} of {th['correct']} right guesses and "
              f"{th['wrong_caught']} of {th['wrong']} wrong ones fall back. "
              f"config.yml has {result['config_thresholds']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.nlu_eval", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["heldout", "cross-validate", "all"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--model", type=Path, help="model archive (default: the current one, trained if needed)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    quiet_rasa()
    if args.what in ("cross-validate", "all"):
        _print(f"{args.folds}-fold cross-validation on nlu_data",
               run_cross_validation(args.folds, args.out / "cross_validation"))
    if args.what in ("heldout", "all"):
        from bot.training import ensure_model

        model = args.model or ensure_model(quiet=True)
        _print(f"held-out set {HELDOUT.relative_to(PROJECT_ROOT)}", evaluate_heldout(model, args.out / "heldout"))
    print(f"\nreports in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
