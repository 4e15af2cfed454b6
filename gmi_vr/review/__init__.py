"""Review: progress reports and the numbers behind them, from the session store.

``progress`` is progression between sessions (which stored sessions count, the engine's
proposal, the therapist's decision, both audited): what ``gmi-vr patients progress``, the
end of every session and the console's after-session panel use, with the practice between
visits counted from home and desktop sessions (``patient_dose``).

``figures_data`` computes every figure's and table's data as plain dataclasses (the one
code path a report or a therapist console draws from); ``figures`` draws them with
matplotlib; ``report`` writes the self-contained HTML (Jinja2 template, inline SVG) or the
PDF; ``handout`` the patient's one-page practice handout the same two ways. ``outcome_series``
gives each outcome questionnaire's scores over time. matplotlib and Jinja2 are imported only
when a report is drawn, so other commands do not pay for them.
"""
