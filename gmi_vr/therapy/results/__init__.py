"""What a session yields and how it is judged: records, measures, scores and doses.

``task_records`` (trials, pain ratings, task start and end), ``stage_records`` (imagery,
vividness, repetitions, range of motion, look-only periods), ``measures`` (movement time,
path, speed, smoothness of one repetition), ``scoring`` (laterality scores, norms, the
session summary and the flare rule), ``practice_dose`` (practice between visits against the
prescription) and ``questionnaires`` (outcome measures entered on the desktop, scored).
Times in frame-clock seconds. Imports only ``plan`` from therapy (never ``content``).
"""
