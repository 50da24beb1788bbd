"""The progress plot: the score history (a plotext plot) and one score strip per practised topic.

A strip has one block per graded answer, oldest first, its height the score on a fixed 0-10 scale
and its colour the band, so strips of different topics compare at a glance (Textual's ``Sparkline``
rescales each strip to its own minimum and maximum and stretches it to the width, which made two
answers look like a long history).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static
from textual_plotext import PlotextPlot

if TYPE_CHECKING:
    from mltutor.agent.interview.records import ScorePoint, TopicProgress


class ScorePlot(PlotextPlot):
    """Every graded answer's score, oldest first, with the running mean."""

    DEFAULT_CSS = """
    ScorePlot { height: 14; width: 1fr; }
    """

    def show(self, history: list[ScorePoint]) -> None:
        """Draw ``history`` (nothing but a note below two points)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("score history")
        plt.ylim(0, 10)
        scores = [p.score for p in history]
        if len(scores) >= 2:
            xs = list(range(1, len(scores) + 1))
            means = [sum(scores[:i]) / i for i in xs]
            plt.plot(xs, means, marker="braille", label="running mean")
            plt.scatter(xs, scores, marker="●", label="score")
            step = max(1, len(xs) // 10)
            plt.xticks([float(x) for x in xs[::step]])
            plt.xlabel("graded answers, oldest first")
        else:
            plt.xlabel("the history is plotted from the second graded answer on")
        self.refresh()


BLOCKS = "▁▂▃▄▅▆▇█"
STRIP_MAX = 40
"""The most answers a strip shows (the latest)."""


def score_strip(scores: list[float]) -> Text:
    """One block per score (0-10, fixed scale), coloured by band: red < 4 <= yellow < 7 <= green."""
    text = Text()
    for s in scores[-STRIP_MAX:]:
        colour = "green" if s >= 7 else "yellow" if s >= 4 else "red"
        text.append(BLOCKS[min(7, max(0, int(s / 10 * 8)))], style=colour)
    return text


class TopicStrips(Vertical):
    """One row per practised topic: name, mastery, answers, and its scores as a strip."""

    DEFAULT_CSS = """
    TopicStrips { height: auto; }
    TopicStrips .strip { height: 1; }
    TopicStrips .strip-name { width: 28; }
    TopicStrips .strip-mastery { width: 6; }
    TopicStrips .strip-count { width: 4; }
    TopicStrips .strip-scores { width: 1fr; }
    """

    def __init__(self, topics: list[TopicProgress], *, russian: bool = False) -> None:
        super().__init__()
        self._topics = [t for t in topics if t.scores]
        self._russian = russian

    def compose(self) -> ComposeResult:
        if not self._topics:
            yield Static(Text("no graded interview answers yet", style="dim"))
            return
        yield Static(
            Text(f"{'topic':<28}{'mast.':<6}{'n':<4}scores, oldest first (0-10)", style="dim")
        )
        for t in self._topics:
            name = t.title_ru if self._russian and t.title_ru else t.title or t.slug
            name = name if len(name) <= 27 else name[:26] + "…"
            mastery = f"{t.mastery:.0%}" if t.mastery is not None else "—"
            with Horizontal(classes="strip"):
                yield Label(name, classes="strip-name")
                yield Label(mastery, classes="strip-mastery")
                yield Label(str(len(t.scores)), classes="strip-count")
                yield Static(score_strip(t.scores), classes="strip-scores")
