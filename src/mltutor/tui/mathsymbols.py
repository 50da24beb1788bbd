"""The tables :mod:`mltutor.tui.mathtext` converts with: LaTeX commands to Unicode characters.

Kept apart from the converter so the logic stays short and the data can grow without touching it.
Only commands whose Unicode form reads unambiguously in a monospace terminal are listed; anything
else makes the converter keep the fragment as written.
"""

from __future__ import annotations

GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ϵ",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "varpi": "ϖ",
    "rho": "ρ",
    "varrho": "ϱ",
    "sigma": "σ",
    "varsigma": "ς",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "ϕ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Upsilon": "Υ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
}

OPERATORS = {
    "cdot": "·",
    "times": "×",
    "div": "÷",
    "pm": "±",
    "mp": "∓",
    "ast": "∗",
    "star": "⋆",
    "circ": "∘",
    "bullet": "•",
    "odot": "⊙",
    "otimes": "⊗",
    "oplus": "⊕",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "cong": "≅",
    "equiv": "≡",
    "propto": "∝",
    "ll": "≪",
    "gg": "≫",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "gets": "←",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "leftrightarrow": "↔",
    "Leftrightarrow": "⇔",
    "iff": "⇔",
    "implies": "⟹",
    "mapsto": "↦",
    "longrightarrow": "⟶",
    "uparrow": "↑",
    "downarrow": "↓",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "int": "∫",
    "iint": "∬",
    "iiint": "∭",
    "oint": "∮",
    "sum": "Σ",
    "prod": "∏",
    "coprod": "∐",
    "in": "∈",
    "notin": "∉",
    "ni": "∋",
    "subset": "⊂",
    "subseteq": "⊆",
    "supset": "⊃",
    "supseteq": "⊇",
    "cup": "∪",
    "cap": "∩",
    "setminus": "∖",
    "forall": "∀",
    "exists": "∃",
    "nexists": "∄",
    "emptyset": "∅",
    "varnothing": "∅",
    "neg": "¬",
    "lnot": "¬",
    "land": "∧",
    "wedge": "∧",
    "lor": "∨",
    "vee": "∨",
    "mid": "|",
    "parallel": "∥",
    "perp": "⊥",
    "top": "ᵀ",
    "intercal": "ᵀ",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "vdots": "⋮",
    "ddots": "⋱",
    "langle": "⟨",
    "rangle": "⟩",
    "lVert": "‖",
    "rVert": "‖",
    "Vert": "‖",
    "lvert": "|",
    "rvert": "|",
    "vert": "|",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "hbar": "ℏ",
    "ell": "ℓ",
    "prime": "′",
    "degree": "°",
    "angle": "∠",
    "triangle": "△",
    "square": "□",
    "checkmark": "✓",
    "dagger": "†",
    "aleph": "ℵ",
    "Re": "ℜ",
    "Im": "ℑ",
    "sqcup": "⊔",
    "uplus": "⊎",
    "preceq": "⪯",
    "succeq": "⪰",
    "prec": "≺",
    "succ": "≻",
    "lbrace": "{",
    "rbrace": "}",
    "lbrack": "[",
    "rbrack": "]",
}

PUNCTUATION = {
    ",": " ",
    ";": " ",
    ":": " ",
    ">": " ",
    "!": "",
    " ": " ",
    "{": "{",
    "}": "}",
    "|": "‖",
    "%": "%",
    "$": "$",
    "#": "#",
    "&": "&",
    "_": "_",
    "quad": "  ",
    "qquad": "    ",
}

SYMBOLS: dict[str, str] = {**GREEK, **OPERATORS, **PUNCTUATION}
"""Commands that stand for one character (or a space)."""

FUNCTIONS = frozenset(
    "sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh log ln lg exp max min sup inf "
    "lim liminf limsup arg argmax argmin det tr rank diag dim ker deg gcd Pr var Var Cov cov "
    "sgn sign erf softmax operatorname".split()
)
"""Named operators written upright (``\\log x`` → ``log x``); ``operatorname`` takes its argument."""

IGNORED = frozenset(
    "displaystyle textstyle scriptstyle limits nolimits nonumber notag label strut "
    "middle mathstrut phantom".split()
)
"""Layout-only commands that have no visible form in plain text."""

ACCENTS = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "bar": "\u0304",
    "overline": "\u0305",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "vec": "\u20d7",
    "dot": "\u0307",
    "ddot": "\u0308",
    "check": "\u030c",
    "acute": "\u0301",
    "grave": "\u0300",
}
"""Accent commands as combining characters (used on a single letter only)."""

ROW_ENVIRONMENTS = frozenset(
    "aligned align alignat gathered gather split cases equation multline eqnarray".split()
)
"""Environments whose rows can be shown one per line (matrices are not: they stay raw)."""

SUPERSCRIPT = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWβγδθιφχT′ᵀ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵝᵞᵟᶿᶥᵠᵡᵀ′ᵀ",
        strict=True,
    )
)
"""Characters with a Unicode superscript form."""
SUPERSCRIPT["*"] = "*"
SUPERSCRIPT["−"] = "⁻"

SUBSCRIPT = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
"""Characters with a Unicode subscript form."""

SCRIPT_CHARS = "".join(sorted((set(SUPERSCRIPT.values()) | set(SUBSCRIPT.values())) - set("*⁽⁾₍₎")))
"""Every script character but brackets, so an already scripted atom (``x₁²``) needs no parentheses."""

BLACKBOARD = {
    "R": "ℝ",
    "N": "ℕ",
    "Z": "ℤ",
    "Q": "ℚ",
    "C": "ℂ",
    "P": "ℙ",
    "E": "𝔼",
    "1": "𝟙",
    "H": "ℍ",
}
"""``\\mathbb`` letters."""

CALLIGRAPHIC = {
    "L": "ℒ",
    "N": "𝒩",
    "O": "𝒪",
    "D": "𝒟",
    "H": "ℋ",
    "F": "ℱ",
    "X": "𝒳",
    "Y": "𝒴",
    "B": "ℬ",
    "E": "ℰ",
    "M": "ℳ",
    "P": "𝒫",
    "R": "ℛ",
    "I": "ℐ",
    "A": "𝒜",
    "C": "𝒞",
    "G": "𝒢",
    "S": "𝒮",
    "T": "𝒯",
    "U": "𝒰",
    "V": "𝒱",
    "W": "𝒲",
    "Z": "𝒵",
    "K": "𝒦",
    "J": "𝒥",
    "Q": "𝒬",
}
"""``\\mathcal`` letters (falls back to the plain letter)."""
