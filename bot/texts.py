"""What the bot says outside the knowledge base. Staff may override the first two in settings."""

WELCOME = (
    "您好，欢迎关注！我是科协助手，可以回答科普活动和会议、青少年科技竞赛、"
    "天府科技云和科普中国等平台、科协工作报告里的数据。直接发文字问我就行，"
    "比如“成都有多少家高校科协”。发送“订阅活动提醒”，活动开始前我会提醒您。"
)
UNSUBSCRIBED_EVENT = "已暂停给您的活动提醒。欢迎随时回来！"
NOT_TEXT = "收到啦！我目前只看得懂文字和语音，请用文字告诉我您想了解的科普活动、竞赛、平台或数据。"
VOICE_UNRECOGNISED = "抱歉，没听清您的语音，请直接发文字问我。"
RATE_LIMITED = "您发得有点快，请稍等几秒再问我。"
BUSY = "正在为您查询，请稍候……"
