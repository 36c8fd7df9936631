"""A custom Rasa NLU component (referenced from config.yml by its module path).

RegexEntityExtractor reports every lookup match, including names inside
longer names of another type: 天府科技云 (platform) inside 天府科技云服务大会
(event), 四川 (region) inside 四川科技网 (platform). The citizen wrote the long
name; the short one inside it is not a second entity. This keeps the longest.
"""
from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message


def longest_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop every entity whose span lies inside a longer entity's span."""
    def inside(e: dict[str, Any], o: dict[str, Any]) -> bool:
        return (o is not e and o["start"] <= e["start"] and e["end"] <= o["end"]
                and o["end"] - o["start"] > e["end"] - e["start"])

    spanned = [e for e in entities if "start" in e and "end" in e]
    return [e for e in entities if e not in spanned or not any(inside(e, o) for o in spanned)]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LongestEntityFilter(GraphComponent):
    """Keeps the longest of overlapping entities (see the module docstring)."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LongestEntityFilter":
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            if len(entities) > 1:
                message.set(ENTITIES, longest_entities(entities), add_to_output=True)
        return messages
