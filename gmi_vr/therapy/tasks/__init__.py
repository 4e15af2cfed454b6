"""The tasks a session plan runs, each stepped once per frame by the runner.

``base`` (the ``Task`` protocol, ``TaskStep``, ``TaskContext``, ``TaskBuilder`` and input
edges), ``registry`` (``TASK_BUILDERS``: every kind a plan may name, in one table), and the
tasks: ``laterality`` (stage 1), ``imagery`` (stage 2), ``stages`` (the stage 2-4 blocks),
``motor`` and ``rom`` (mirror and movement tasks, range of motion), ``mirror_box`` (home
mirror practice), ``touch_task`` and ``seen_touch`` (touch training), ``rating`` and
``checks`` (pain and the short questions) and ``pointing`` (choosing with one hand).
Imports ``plan``, ``content`` and ``results``; never the runner above it.
"""
