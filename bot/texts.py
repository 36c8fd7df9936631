"""What the bot says outside the knowledge base. Staff may replace the welcome in the console's settings."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

NOT_TEXT = "收到啦！我目前只看得懂文字和语音，请用文字告诉我您想了解的科普活动、竞赛、平台或数据。"
VOICE_UNRECOGNISED = "抱歉，没听清您的语音，请直接发文字问我。"
RATE_LIMITED = "您发得有点快，请稍等几秒再问我。"
TOO_LONG = "您的消息有点长，我一次看不完。请用一两句话说说您想了解什么，比如“成都有多少家高校科协”。"
TOO_SLOW = "抱歉，这个问题我查得太久了，没能及时回复。请稍后再发一次，我会尽快回答。"
SORRY = "抱歉，我这里出了点问题，请稍后再问一次。"
CUT_SHORT = "\n（内容较长，只显示了前一部分。）"
EMPTY_TEXT = "您好像发了一条空消息。请直接用文字告诉我您想了解什么。"
NO_UPCOMING_EVENTS = (
    "目前知识库里还没有即将开始的活动。发送“订阅活动提醒”，有新活动时我会在开始前提醒您。"
)
REMIND_HINT = "想在活动开始前收到提醒，请发送“订阅活动提醒”。"
HOW_TO_SUBSCRIBE = (
    "订阅活动提醒：发送“订阅活动提醒”，活动开始前我会给您发提醒。"
    "只关心比赛，可以发“我要订阅比赛通知”；只关心某个地方，可以发“订阅成都的活动”。"
    "不想再收提醒时，发送“取消订阅”即可。"
)
WHAT_TO_ASK = (
    "我可以回答：科普活动和会议（比如“最近有什么科普活动”），青少年科技竞赛（比如“绵阳办过哪些青少年科技赛事”），"
    "报告里天府科技云等平台的数据（比如“绵阳在天府科技云上有多少注册科技工作者”），以及科协工作报告里的其他数据"
    "（比如“成都有多少家高校科协”）。直接发文字问我就行。"
)
UNKNOWN_MENU_KEY = "这个菜单项暂时没有内容。您可以直接发文字问我科普活动、竞赛、平台或数据方面的问题。"
SUBSCRIBED_BY_MENU = "订阅成功！已为您订阅{topics}提醒，有新的安排时，我会在开始前提醒您。发送“取消订阅”可随时退订。"
UNSUBSCRIBED_BY_MENU = "已取消订阅，之后不会再给您发活动提醒。想恢复时，点菜单里的“订阅活动提醒”或发送“订阅活动提醒”。"
NOT_SUBSCRIBED = "您目前没有订阅活动提醒，不会收到推送。"


def welcome(session: Session) -> str:
    """The staff's welcome text (console settings), else `default_welcome`."""
    from kb.db import get_setting

    return get_setting(session, "welcome_text", "") or default_welcome(session)


def default_welcome(session: Session) -> str:
    """The welcome for the reports the knowledge base holds now (`kb.answer.what_it_can_answer`),
    so it stays true when staff change the reports."""
    from kb.answer import what_it_can_answer

    covers = what_it_can_answer(session) or "知识库里还没有导入工作报告，暂时回答不了数据类问题。"
    return f"您好，欢迎关注！我是科协助手。{covers}直接发文字问我就行。发送“订阅活动提醒”，活动开始前我会提醒您。"
