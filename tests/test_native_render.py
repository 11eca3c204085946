"""Actions in the reply model: buttons in Slack, the same command to type in the terminal."""

from __future__ import annotations

from bot.slack.render import split_action_id, to_blocks, to_text
from handlers.reply import Action, Mention, actions, para, reply

ACK = Action("I'm on it", "ack", "12", "ack 12", style="primary")
BOOKED = Action("I've booked the exam", "cert-booked", "7", "cert booked 7 DATE", pick="date")


def test_actions_render_as_buttons_whose_value_is_the_command() -> None:
    blocks = to_blocks(reply(para("Policy changed"), actions(ACK, BOOKED)))
    row = blocks[-1]
    assert row["type"] == "actions"
    button, picker = row["elements"]
    assert button == {
        "type": "button",
        "text": {"type": "plain_text", "text": "I'm on it", "emoji": True},
        "action_id": "ack|12",
        "value": "ack 12",
        "style": "primary",
    }
    assert picker["type"] == "datepicker" and picker["placeholder"]["text"] == "I've booked the exam"
    assert split_action_id(picker["action_id"]) == ("cert-booked", "7")


def test_the_terminal_shows_each_action_as_the_command_to_type() -> None:
    text = to_text(reply(para("Policy changed"), actions(ACK, BOOKED)))
    assert "→ /whisperer ack 12   — I'm on it" in text
    assert "→ /whisperer cert booked 7 DATE   — I've booked the exam" in text


def test_long_labels_are_clipped_to_slacks_button_limit() -> None:
    long = Action("x" * 200, "subscribe", "policy", "subscribe policy")
    button = to_blocks(reply(actions(long)))[0]["elements"][0]
    assert len(button["text"]["text"]) == 75


def test_mentions_ping_only_real_user_ids() -> None:
    blocks = to_blocks(reply(para("Taken by ", Mention("U0ANA", "Ana"), " and ", Mention("<!channel>"))))
    text = blocks[0]["text"]["text"]
    assert "<@U0ANA>" in text and "<!channel>" not in text and "@&lt;!channel&gt;" in text
    assert to_text(reply(para("Taken by ", Mention("U0ANA", "Ana")))) == "Taken by @Ana"
