"""The patient's plan: the program and the settings it holds, the bottom layer of therapy.

``program`` (``Program``: stage, session blocks, every setting with its source, therapist
overrides and their audit), ``grading`` (the imagery, mirror and movement stages' grading),
``touch_training`` (tactile discrimination settings, its touch sequence and scores) and
``home_sitting`` (the plan of one practice sitting at home). Plain data; imports nothing
else from therapy.
"""
