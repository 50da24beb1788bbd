"""The help screen (F1, or ? when not typing): modes, keys, the marks on screen, a stronger model.

A full screen rather than a dialog, so it reads at 80x24; esc, q or F1 close it. The text is
Markdown shown with the same renderer as answers.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mltutor.tui.widgets.footer import KeyBar
from mltutor.tui.widgets.markdown_body import MarkdownBody

INTERVIEW_AVAILABLE = """\
- **Interview** (F2): a mock interview. Questions by topic and difficulty, your answer graded
  against a rubric with follow-ups; weak topics are tracked across sessions."""

INTERVIEW_PLANNED = """\
- **Interview**: a mock interview graded against a rubric is planned; the topics browser already
  lists each topic's interview questions."""

HELP = """\
## Modes

- **Chat**: ask in English or Russian. The tutor answers from the topic notes and cites them;
  derivatives, gradients, Hessians, integrals and statistics are *computed* by math tools, never
  guessed.
- **Check** (ctrl+t): paste a derivation, one step per line (`A = B`, a line starting with `=`
  continues the previous one). ctrl+r checks every step, no model needed; ctrl+g asks the tutor
  why the first wrong step is wrong.
{interview}

## Keys

| key | what it does |
| --- | --- |
| enter | send the question |
| esc, ctrl+c | stop the answer being written (the app keeps running) |
| F5 | ask the failed or stopped question again; restart a tutor that is down |
| ctrl+t | switch between chat and check mode |{interview_key}
| ctrl+b | sessions: enter resumes, r renames, d deletes, n starts a new one |
| ctrl+n | new conversation (check mode: clear the derivation) |
| ctrl+o | export the conversation to Markdown |
| ctrl+r, ctrl+g | check mode: check the derivation; explain the first wrong step |
| tab | move between the question box, panels and lists; enter opens a panel |
| ctrl+p | palette: *topics*, *model*, *check*, *help*, settings (best-of-N, language) |
| F1, ? | this help |
| ctrl+q | quit (asks first while an answer is being written) |

Typing always goes to the question box, wherever the focus is.

## What the marks mean

In an answer:

- **▶ Sources**, **▶ Tools**, **▶ Verification**: panels, closed; click them or tab to one and
  press enter. Their titles say the gist: how many note sections were retrieved, which tools ran
  and how they ended, whether the checked claims held.
- **[1]**, **[2]**: the note sections an answer relies on, listed under *Cited* with an excerpt.
- **✓** a tool succeeded or a claim holds · **✗** a tool failed or a claim does not hold ·
  **…** a tool is running · **★** the best of several candidate answers (best-of-N).
- **⚠** the answer failed (F5 retries) · **■ stopped** you stopped it (F5 asks again).
- Formulas are drawn in Unicode; a formula on its own line is indented, and matrices and cases
  are drawn over several lines.

In check mode: **✓ ok** the step follows · **✗ wrong** it does not (the first one is highlighted
with the likely mistake and the expected value) · **? unverifiable** the checker could not decide ·
**! unparsed** the line could not be read (the column is shown).

## A stronger model

The embedded model works offline but is small. For better answers use any OpenAI-compatible
server: ctrl+p, type *model*, and pick your configured endpoint or *connect to another endpoint*
(e.g. Ollama at `http://127.0.0.1:11434/v1` with `qwen2.5:7b-instruct`). To keep it, put it in
`~/.config/mltutor/config.toml`:

```toml
base_url = "http://127.0.0.1:11434/v1"
model = "qwen2.5:7b-instruct"
```

or set `MLTUTOR_BASE_URL` and `MLTUTOR_MODEL` (with `OPENAI_API_KEY` alone, OpenAI is used).
The status bar always shows the model in use.
"""


INTERVIEW_KEY = "\n| F2 | interview mode: a mock interview on the topic you choose |"


def help_text(*, interview: bool) -> str:
    """The help as Markdown (the interview lines depend on whether that mode exists)."""
    return HELP.format(
        interview=INTERVIEW_AVAILABLE if interview else INTERVIEW_PLANNED,
        interview_key=INTERVIEW_KEY if interview else "",
    )


class HelpScreen(ModalScreen[None]):
    """Scrollable help over the whole screen; esc, q or F1 close it.

    Modal, so esc closes it rather than stopping an answer that is being written.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(" Help ", classes="screen-title")
        with VerticalScroll(id="help-body"):
            yield MarkdownBody(help_text(interview="interview" in self.app.MODES))
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        """Back to where the user was."""
        self.dismiss()
