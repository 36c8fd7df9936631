"""Chinese text handling shared by building and searching.

Questions and reports go through the *same* normalisation and tokenisation, so
that "十五家", "１５家" and "15家" meet in the index, whatever the writer typed.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)

_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
# A run of Chinese numerals is only converted when it is clearly a number: two
# or more characters ("十五", "二十一"), or one character before a measure word
# ("三届", "五年"). "统一", "一些" and "一下" stay words.
_MEASURE = "家个场次届项人名条所年月日期位篇部种批支座处件万亿天周"
_NUM_RUN = re.compile(rf"[零〇一二两三四五六七八九十百千]{{2,}}|[一二两三四五六七八九十](?=[{_MEASURE}])")

# Filler a citizen adds that carries no meaning for search.
_FILLERS = re.compile(
    r"(请问一下|请问|问一下|问下|想问一下|想问下|想问|想知道|我想了解|了解一下|麻烦问下|麻烦|"
    r"你好|您好|哈喽|谢谢|告诉我|知道吗|一下)"
)

SENTENCE_END = "。！？!?；;"
_SENT_SPLIT = re.compile(r"(?<=[。！？!?；;])")

STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 等 有 吗 呢 啊 呀 吧 嘛 哦 么 什么 怎么 怎么样 怎样 如何 多少 几 哪 哪些 哪里 哪个
    我 你 他 她 它 我们 你们 他们 这 那 这个 那个 个 也 都 就 还 又 而 并 对 从 把 被 为 以 于 之 其 或
    年来 来 中 上 下 里 过 到 给 让 说 要 会 能 可以 一 共 共计 累计 请 问 下 次 呀 啦 着 地 得 所 向
    """.split()
)

_jieba_lock = threading.Lock()
_loaded_terms: set[str] = set()


def chinese_to_int(run: str) -> int | None:
    """Value of a Chinese numeral run such as "二十一" or "一五" (digit by digit)."""
    if not any(ch in _UNITS for ch in run):
        # digit-by-digit: "二〇二〇" -> 2020
        digits = [_NUMERALS.get(ch) for ch in run]
        if None in digits:
            return None
        return int("".join(str(d) for d in digits))
    total, current = 0, 0
    for ch in run:
        if ch in _NUMERALS:
            current = _NUMERALS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        else:
            return None
    return total + current


def _replace_numerals(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        value = chinese_to_int(m.group(0))
        return m.group(0) if value is None else str(value)

    return _NUM_RUN.sub(repl, text)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, Chinese numerals to digits, no markup."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("**", "").lower()
    text = _replace_numerals(text)
    # "1.396 亿次" -> "1.396亿次": reports set figures apart with spaces.
    text = re.sub(r"(?<=[\d.])\s+(?=[\u4e00-\u9fff%])", "", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\d])", "", text)
    return text.strip()


def strip_fillers(text: str) -> str:
    return _FILLERS.sub("", text)


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(paragraph) if s.strip()]


def add_terms(terms: Iterable[str]) -> None:
    """Teach jieba the knowledge base's domain terms (天府科技云, 大禹杯, ...)."""
    with _jieba_lock:
        for term in terms:
            term = normalize(term)
            if len(term) >= 2 and term not in _loaded_terms:
                jieba.add_word(term, freq=200000)
                _loaded_terms.add(term)


def _is_token(tok: str) -> bool:
    tok = tok.strip()
    if not tok or tok in STOPWORDS:
        return False
    return any(ch.isalnum() for ch in tok)


def tokenize(text: str) -> list[str]:
    """Search tokens of normalised text: jieba's search mode, without stop words.

    Search mode adds the parts of long words ("天府科技云" also gives "天府", "科技"),
    so a question that uses part of a name still meets it.
    """
    with _jieba_lock:
        toks = jieba.lcut_for_search(text)
    return [t for t in toks if _is_token(t)]


def write_user_dict(terms: Iterable[str], path: Path) -> None:
    """A jieba user dictionary for Rasa's JiebaTokenizer, sorted for a stable hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = sorted({normalize(t) for t in terms if len(normalize(t)) >= 2})
    path.write_text("".join(f"{t} 200000 nz\n" for t in lines), encoding="utf-8")
