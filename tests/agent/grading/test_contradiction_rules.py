"""The contradiction checks one rule at a time: each fires on a false statement and stays quiet on a
true one worded close to it (lexical only: no embedder, no notes)."""

from __future__ import annotations

from mltutor.agent.grading.contradiction import find_contradictions, reference_units
from mltutor.agent.grading.pairs import contradictions_of, question_pair
from mltutor.agent.grading.text import analyse, fragments


def _found(sentence: str, refs: list[str], **kwargs: object) -> list[str]:
    units = reference_units(refs)
    return [
        c.reason for c in find_contradictions([sentence], units, reference_texts=refs, **kwargs)
    ]  # type: ignore[arg-type]


RELU = [
    "The downside is that a unit whose pre-activation is negative for every input receives zero "
    "gradient forever and stops learning (dying ReLU), often after a too-large learning rate.",
    "Leaky ReLU, ELU or GELU keep a small gradient for negative inputs.",
]


def test_a_swapped_direction_must_sit_among_the_same_words() -> None:
    # "small slope" is not the reference's "too-large learning rate"
    fixes = (
        "Fixes: Leaky ReLU, ELU or GELU, which keep a small slope for negative inputs, "
        "a lower learning rate"
    )
    assert _found(fixes, RELU) == []
    assert _found("Leaky ReLU and GELU keep a large gradient for negative inputs.", RELU)


def test_a_reference_piece_under_an_outer_negation_is_not_asserted() -> None:
    refs = ["Теорема не говорит, что сами данные становятся нормальными при большом n."]
    assert _found("Сами данные не становятся нормальными при большом n.", refs) == []
    # ... it is denied: asserting it contradicts the reference
    assert _found("Сами данные становятся нормальными при большом n.", refs)
    # a negation elsewhere in the sentence says nothing about the piece
    other = ["Сами данные становятся нормальными при большом n, но это не важно."]
    assert _found("Сами данные не становятся нормальными при большом n.", other) == []
    plain = ["Сами данные не становятся нормальными при большом n."]
    assert _found("Сами данные становятся нормальными при большом n.", plain)


def test_a_negated_sentence_does_not_restate_a_misconception() -> None:
    belief = (analyse("High accuracy means a good model."), analyse("Accuracy hides recall."))
    kwargs = {"misconceptions": [belief]}
    assert _found("A model can't look good by having just one of them high.", [], **kwargs) == []
    assert _found("High accuracy means a good model.", [], **kwargs)


def test_boosting_and_dropout_are_methods_not_directions() -> None:
    assert not [t for t in analyse("gradient boosting").tokens if t.startswith("§")]
    assert not [t for t in analyse("dropout").tokens if t.startswith("§")]
    assert [t for t in analyse("the loss drops").tokens if t.startswith("§")]
    assert [t for t in analyse("it boosts recall").tokens if t.startswith("§")]


def test_a_relative_clause_keeps_the_sentence_subject() -> None:
    assert "Bagging averages reduces bias" in fragments("Bagging averages them, which reduces bias")


def test_the_pair_a_comparison_question_names() -> None:
    pair = question_pair("Clip by value vs clip by norm: how do they differ?")
    assert pair is not None and (pair.a, pair.b) == ("valu", "norm")
    pair = question_pair("Чем ковариация отличается от корреляции?")
    assert pair is not None and pair.a_word == "ковариация"
    pair = question_pair("Why is F1 the harmonic mean rather than the arithmetic mean?")
    assert pair is not None and (pair.a_word, pair.b_word) == ("harmonic", "arithmetic")
    pair = question_pair("Random forest or gradient boosting: how do you choose?")
    assert pair is not None and (pair.a_word, pair.b_word) == ("forest", "boosting")
    assert question_pair("Why use a sparse projection instead of a Gaussian one?") is None
    assert question_pair("Why does L1 give sparse weights and L2 not?") is None
    assert question_pair("ADF versus KPSS: what does each test assume?") is None  # a fixed group


BAGGING = [
    "Bagging averages many deep trees trained in parallel, which reduces variance.",
    "Boosting fits shallow trees sequentially to the errors and reduces bias.",
]
QUESTION = "What is the difference between bagging and boosting?"


def _pair_found(sentence: str) -> list[tuple[str, str]]:
    found = contradictions_of(QUESTION, [sentence], BAGGING, [], allowed_numbers=[], numbers=True)
    return [(c.sentence, c.reason) for c in found]


def test_saying_of_one_side_of_the_question_what_holds_for_the_other() -> None:
    wrong = "Boosting fits shallow trees sequentially to the errors and reduces variance."
    found = _pair_found(wrong)
    assert found and found[0][0] == wrong  # reported as the answer wrote it
    assert "qpair" not in found[0][1]
    assert _pair_found("Boosting fits shallow trees sequentially and reduces bias.") == []
    assert _pair_found("Bagging averages deep trees, which mainly reduces variance.") == []


CLIPPING = [
    "Clip by norm rescales the whole gradient vector, so the direction is preserved.",
    "Norm clipping is the standard choice for RNNs and Transformers.",
    "Clip by value clamps every component to [-v, v] and can change the direction.",
]


def test_one_clause_can_say_of_one_side_what_holds_for_the_other() -> None:
    question = "Clip by value vs clip by norm: how do they differ?"

    def found(sentence: str) -> list[str]:
        hits = contradictions_of(
            question, [sentence], CLIPPING, [], allowed_numbers=[], numbers=True
        )
        return [c.reason for c in hits]

    # the sentence names both sides, so the whole of it leans neither way: its clauses are read
    wrong = (
        "Clip by norm rescales the whole gradient vector so the direction is preserved, "
        "while value clipping is the standard choice for RNNs and Transformers."
    )
    assert found(wrong) == ["says of value what the reference says of norm"]
    assert found(wrong.replace("while value", "while norm")) == []


def test_a_contrast_turned_around_is_contradicted() -> None:
    from mltutor.agent.grading.contrast import reversed_contrasts

    refs = ["The autocovariance depends only on the lag k, not on t."]

    def found(sentence: str) -> int:
        return len(reversed_contrasts([sentence], refs, skip=set()))

    assert found("The autocovariance depends on the time t rather than on the lag.") == 1
    assert found("The autocovariance depends on the lag rather than on the time t.") == 0
    assert found("The autocovariance depends on the lag and on t.") == 0  # no contrast made
    ru = ["Нормальными становятся не данные, а распределение среднего."]
    assert (
        len(
            reversed_contrasts(["Нормальным становится не среднее, а сами данные."], ru, skip=set())
        )
        == 1
    )
    assert (
        reversed_contrasts(["Нормальным становится не сами данные, а среднее."], ru, skip=set())
        == []
    )


def test_a_sentence_the_reference_states_as_written_is_never_contradicted() -> None:
    refs = ["The sigmoid derivative peaks at 0.25.", "The tanh derivative peaks at 1.5 here."]

    def found(sentence: str) -> list[str]:
        hits = contradictions_of(
            "How large is the derivative?", [sentence], refs, [], allowed_numbers=[], numbers=True
        )
        return [c.reason for c in hits]

    assert found("The tanh derivative peaks at 1.5 here.") == []
    assert found("The sigmoid derivative peaks at 0.5.") == [
        "states 0.5 where the reference has 0.25"
    ]
