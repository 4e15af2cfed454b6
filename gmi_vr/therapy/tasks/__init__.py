"""The tasks a session plan runs, on the task base: laterality, imagery, mirror, movement, ratings."""
